"""Framework twins: the same network in layerwise (NumPy), Keras and TensorFlow.

- :mod:`layerwise.frameworks.spec`: :class:`NetSpec`, one description every engine builds from.
- :mod:`layerwise.frameworks.keras`: the Keras twin, weight transfer both ways, the seed's
  ``neural_net_model``.
- :mod:`layerwise.frameworks.tensorflow`: the TensorFlow 2 twin (the seed's ``tf_nn``), its
  training loop, weight transfer both ways.
- :mod:`layerwise.frameworks.engines`: ``layerwise train --engine``: a Solver whose updates run
  in a twin.
- :mod:`layerwise.frameworks.compare`: ``layerwise compare``.

This package itself needs only NumPy; the twins need ``pip install 'layerwise[tf]'`` and say so
in one line when it is missing.
"""

from __future__ import annotations

from typing import Any

from layerwise.frameworks._deps import INSTALL_HINT, FrameworkMissing
from layerwise.frameworks.spec import NetSpec

#: Training engines, by name: layerwise itself and the two framework twins.
ENGINES = ("numpy", "keras", "tensorflow")


def require_engine(engine: str) -> dict[str, Any]:
    """Check that ``engine`` can run here; return the versions it runs with.

    Raises ValueError for an unknown engine and :class:`FrameworkMissing` (one line, with the
    install hint) when its framework is not installed.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    versions: dict[str, Any] = {"engine": engine}
    if engine != "numpy":
        from layerwise.frameworks._deps import require_keras, require_tensorflow

        versions["tensorflow_version"] = require_tensorflow().__version__
        if engine == "keras":
            versions["keras_version"] = require_keras().__version__
    return versions


__all__ = ["ENGINES", "INSTALL_HINT", "FrameworkMissing", "NetSpec", "require_engine"]
