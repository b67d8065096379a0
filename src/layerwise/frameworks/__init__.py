"""Framework twins: the same network in layerwise (NumPy), Keras and TensorFlow.

- :class:`layerwise.spec.NetSpec` (re-exported here): one description every engine builds from.
- :mod:`layerwise.frameworks.keras`: the Keras twin, weight transfer both ways, the seed's
  ``neural_net_model``.
- :mod:`layerwise.frameworks.tensorflow`: the TensorFlow 2 twin (the seed's ``tf_nn``), its
  training loop, weight transfer both ways.
- :mod:`layerwise.frameworks.engines`: ``layerwise train --engine``: the twins as
  :class:`layerwise.engine.Engine` objects that the Solver's updates run in.

This package itself needs only NumPy; the twins need ``pip install 'layerwise[tf]'`` and say so
in one line when it is missing.
"""

from __future__ import annotations

from typing import Any

from layerwise.engine import ENGINES
from layerwise.errors import ConfigError
from layerwise.frameworks._deps import INSTALL_HINT, FrameworkMissing
from layerwise.spec import NetSpec


def require_engine(engine: str) -> dict[str, Any]:
    """Check that ``engine`` can run here; return the versions it runs with.

    Raises ConfigError for an unknown engine and :class:`FrameworkMissing` (one line, with the
    install hint) when its framework is not installed.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}", "engine")
    versions: dict[str, Any] = {"engine": engine}
    if engine != "numpy":
        from layerwise.frameworks._deps import require_keras, require_tensorflow

        versions["tensorflow_version"] = require_tensorflow().__version__
        if engine == "keras":
            versions["keras_version"] = require_keras().__version__
    return versions


__all__ = ["ENGINES", "INSTALL_HINT", "FrameworkMissing", "NetSpec", "require_engine"]
