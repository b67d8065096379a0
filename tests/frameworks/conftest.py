"""The framework-twin tests: TensorFlow kept small and quiet.

Locally a missing TensorFlow/Keras skips the twin tests; under CI (``CI=true``) it fails them,
since CI installs the ``[tf]`` extra through ``[dev]`` and must cover the twins
(see ``twin_helpers.need``).
"""

from __future__ import annotations

import os

# Before TensorFlow is imported: one thread each (the suite runs two workers on two cores),
# no C++ start-up chatter.
os.environ.setdefault("LAYERWISE_TF_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
