"""One family for every error that bad input can cause: :class:`LayerwiseError`.

Whatever a user can get wrong (an option, an array, a file, a run folder, a missing extra)
raises a subclass of :class:`LayerwiseError` whose message names the bad value and what was
expected. The command line catches this one base class and prints
``layerwise: error: <message>`` with exit status 2; a library user can catch it the same way.

Each subclass also derives from the built-in exception that fits it (``ValueError`` for a bad
value, ``FileExistsError`` for a taken run folder, ``ImportError`` for a missing extra), so
``except ValueError`` keeps working where it did before this family existed.
"""

from __future__ import annotations

__all__ = ["ConfigError", "LayerwiseError"]


class LayerwiseError(Exception):
    """Base class of every error layerwise raises because of bad input."""


class ConfigError(LayerwiseError, ValueError):
    """A bad setting: an option, a hyperparameter, a recipe field, a function argument.

    ``field`` names the setting when one is to blame (e.g. ``"hidden_dims"``), so a caller
    such as the command line can say which of its own flags it was.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
