"""The models: a ``params`` dict plus ``loss(X, y=None)``."""

from layerwise.models.base import AffineStackNet
from layerwise.models.fc_net import FullyConnectedNet
from layerwise.models.three_layer import ThreeLayerNet
from layerwise.models.two_layer import TwoLayerNet

#: Model classes by name, so a saved model's metadata can rebuild it.
MODEL_CLASSES: dict[str, type[AffineStackNet]] = {
    "TwoLayerNet": TwoLayerNet,
    "ThreeLayerNet": ThreeLayerNet,
    "FullyConnectedNet": FullyConnectedNet,
}

#: The architectures a recipe (and ``--model``) names: the class, and how many hidden layers
#: it has (None: any number).
ARCHITECTURES: dict[str, tuple[type[AffineStackNet], int | None]] = {
    "two-layer": (TwoLayerNet, 1),
    "three-layer": (ThreeLayerNet, 2),
    "fc": (FullyConnectedNet, None),
}
#: The hidden sizes of each architecture when none are given.
DEFAULT_HIDDEN: dict[str, tuple[int, ...]] = {
    "two-layer": (100,),
    "three-layer": (100, 100),
    "fc": (100, 100),
}

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_HIDDEN",
    "MODEL_CLASSES",
    "AffineStackNet",
    "FullyConnectedNet",
    "ThreeLayerNet",
    "TwoLayerNet",
]
