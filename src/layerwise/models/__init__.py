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

__all__ = [
    "MODEL_CLASSES",
    "AffineStackNet",
    "FullyConnectedNet",
    "ThreeLayerNet",
    "TwoLayerNet",
]
