"""What every command shares: the parser class, the one error type, flags from the options table.

The recipe's flags are made from :data:`layerwise.options.OPTIONS` (name, constraint, default,
help), for ``train`` as typed values and for ``tune`` as checked text; nothing walks argparse's
internals. A flag's text is checked by the option's own constraint, so ``--lr -1`` is refused
with the same words everywhere: ``argument --lr: expected a number > 0, got '-1'``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from layerwise.errors import ConfigError, LayerwiseError
from layerwise.options import OPTIONS, Option

PROG = "layerwise"


#: How the lines a command prints name each task's score.
SCORE_WORDS = {"accuracy": "accuracy", "r2": "R2", "subset_accuracy": "subset accuracy"}


class UsageError(LayerwiseError):
    """A problem with the command line or its inputs; reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise, so :func:`layerwise.cli.main` prints one line.

    Long flags are never abbreviated (``--hid`` is refused, not read as ``--hidden``): what
    was typed is what :func:`given_flags` sees, which decides what overrides a ``--recipe``
    and what a ``--resume`` refuses."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:  # named one by one: an empty or blank argument shows as its repr
            shown = (a if a.strip() == a and a.isprintable() and a else repr(a) for a in extras)
            raise UsageError(f"unrecognized arguments: {' '.join(shown)}")
        return parsed

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show '(default: X)' in the help, except for options whose default is 'not given'."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low`` ('expected an integer >= 1, got '0'')."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {low}"  # what argparse shows if it ever names the type
    return parse


def add_print_every(parser: argparse.ArgumentParser, default: int = 100) -> None:
    """``--print-every N``: the loss line every N iterations (train and compare)."""
    parser.add_argument(
        "--print-every",
        type=int_at_least(1),
        default=default,
        metavar="N",
        help="print the loss every N iterations",
    )


def option_type(option: Option, keep_text: bool = False) -> Callable[[str], Any]:
    """An argparse type that checks text with ``option``'s constraint; returns the value, or
    the text itself with ``keep_text`` (tune passes fixed options on as text)."""

    def parse(text: str) -> Any:
        try:
            value = option.parse(text)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return text if keep_text else value

    parse.__name__ = option.name
    return parse


def add_recipe_options(
    parser: argparse.ArgumentParser | Any,
    skip: Iterable[str] = (),
    *,
    as_text: bool = False,
    action: type[argparse.Action] | None = None,
    dest_prefix: str = "",
    default_note: bool = False,
) -> None:
    """Add a flag for every option of the table (but ``skip``) to ``parser``.

    as_text: the value stays the text as typed (checked all the same); action, dest_prefix:
    how tune records them; default_note: say the train default in the help (tune, whose own
    default is 'not fixed').
    """
    skipped = set(skip)
    for option in OPTIONS:
        if option.name in skipped:
            continue
        kwargs: dict[str, Any] = {"help": option.help, "dest": dest_prefix + option.name}
        if option.choices is not None:
            kwargs["choices"] = option.choices
            kwargs["type"] = str
        else:
            kwargs["type"] = option_type(option, keep_text=as_text)
        if option.metavar is not None:
            kwargs["metavar"] = option.metavar
        elif as_text and option.choices is None:
            kwargs["metavar"] = option.name.upper()
        if action is not None:
            kwargs["action"] = action
            kwargs["default"] = argparse.SUPPRESS
            if default_note and option.default is not None:
                kwargs["help"] += f" (train's default: {option.default})"
        else:
            kwargs["default"] = option.default
        parser.add_argument(option.flag, **kwargs)


def add_recipe_file(parser: argparse.ArgumentParser) -> None:
    """``--recipe NAME|FILE``: start from a shipped recipe or a JSON recipe file; the recipe
    flags typed beside it change it (:func:`recipe_values` with ``argv``)."""
    parser.add_argument(
        "--recipe",
        metavar="NAME|FILE",
        help="start from a shipped recipe ('layerwise recipe list') or a JSON recipe file (a "
        "copy of 'layerwise recipe show NAME', or a run's config.json); the recipe flags given "
        "beside it change it, the others keep the recipe's values",
    )


def recipe_values(args: argparse.Namespace, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The option values a namespace holds (made by :func:`add_recipe_options`)."""
    skipped = set(skip)
    return {o.name: getattr(args, o.name) for o in OPTIONS if o.name not in skipped}


def given_flags(argv: list[str]) -> set[str]:
    """The long flags typed on the command line (``--lr 0.1`` and ``--lr=0.1`` alike)."""
    return {a.split("=", 1)[0] for a in argv if a.startswith("--")}


def flag_of(field: str | None) -> str | None:
    """The flag of a recipe option or field name (``hidden`` -> ``--hidden``), if it has one."""
    if field is None:
        return None
    names = {o.name: o.flag for o in OPTIONS}
    return names.get(field)


def as_usage_error(error: ConfigError) -> UsageError:
    """A recipe's error said in the command line's words: ``argument --hidden: ...``."""
    flag = flag_of(error.field)
    return UsageError(f"argument {flag}: {error}" if flag else str(error))
