"""The checks of every item, one module per family; importing this package registers them
(:mod:`layerwise.check.registry`), in the order they are reported: the seed's exercise first
(layers, losses and sgd, the two models), then the toolkit's."""

# isort: off
from layerwise.check.items import layers, losses, models  # noqa: F401  (they register)
from layerwise.check.items import activations, dropout, normalization  # noqa: F401
from layerwise.check.items import update_rules, fc_net  # noqa: F401
# isort: on
