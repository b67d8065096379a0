"""The models: a ``params`` dict plus ``loss(X, y=None)``."""

from layerwise.models.base import AffineStackNet
from layerwise.models.three_layer import ThreeLayerNet
from layerwise.models.two_layer import TwoLayerNet

#: Model classes by name, so a saved model's metadata can rebuild it.
MODEL_CLASSES: dict[str, type[AffineStackNet]] = {
    "TwoLayerNet": TwoLayerNet,
    "ThreeLayerNet": ThreeLayerNet,
}

__all__ = ["MODEL_CLASSES", "AffineStackNet", "ThreeLayerNet", "TwoLayerNet"]
