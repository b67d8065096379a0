"""Reading a model's ``loss`` method for the mistakes that show in its text.

Some mistakes cannot be seen from outside once another one breaks the forward pass first (a
bias passed as a weight makes the layer fail before the loss is computed), and some are
named best by their line: a ``grads`` key assigned twice in one statement, a regularisation
sum that counts one weight twice and another not at all. These read the method's syntax tree
(the student's own text, through ``inspect``); they never run it.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections import Counter
from typing import Any


def _tree(method: Any) -> tuple[ast.AST, int] | None:
    try:
        source = textwrap.dedent(inspect.getsource(method))
        first = inspect.getsourcelines(method)[1]
    except (OSError, TypeError):
        return None
    try:
        return ast.parse(source), first - 1
    except SyntaxError:
        return None


def _param_key(node: ast.AST) -> str | None:
    """'theta2' for ``self.params['theta2']`` (or ``params['theta2']``)."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        value = node.value
        named = (isinstance(value, ast.Attribute) and value.attr == "params") or (
            isinstance(value, ast.Name) and value.id == "params"
        )
        if named and isinstance(node.slice.value, str):
            return node.slice.value
    return None


def _grads_key(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "grads"
    ):
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            return node.slice.value
    return None


def _mentions_reg(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Attribute) and n.attr == "reg")
        or (isinstance(n, ast.Name) and n.id == "reg")
        for n in ast.walk(node)
    )


def problems(model_class: Any, weights: list[str]) -> list[str]:
    """What the text of ``model_class.loss`` gets wrong, each naming its line; ``weights``:
    the model's weight names (theta1, theta2, ...)."""
    parsed = _tree(getattr(model_class, "loss", None))
    if parsed is None:
        return []
    tree, offset = parsed
    where = getattr(getattr(model_class.loss, "__code__", None), "co_filename", "")
    found: list[str] = []
    reg_grads: dict[str, str] = {}
    for node in ast.walk(tree):
        line = (
            f"{where}, line {getattr(node, 'lineno', 0) + offset}"
            if where
            else str(getattr(node, "lineno", 0) + offset)
        )
        if isinstance(node, ast.Call) and len(node.args) >= 3:
            fname = (
                node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            )
            if "affine" in fname and "backward" not in fname:
                w, b = _param_key(node.args[1]), _param_key(node.args[2])
                if w and b and b != f"{w}_0":
                    found.append(
                        f"{line}: {fname} gets self.params[{b!r}] as the bias of the layer "
                        f"whose weights are self.params[{w!r}]; expected self.params['{w}_0']"
                    )
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Tuple):
                    keys = [k for k in map(_grads_key, target.elts) if k]
                    for key, count in Counter(keys).items():
                        if count > 1:
                            found.append(
                                f"{line}: grads[{key!r}] is assigned {count} times in one "
                                f"statement, so the first value is lost (the bias gradient "
                                f"belongs in grads['{key}_0'])"
                            )
        if isinstance(node, ast.AugAssign) and _mentions_reg(node.value):
            reg_key = _grads_key(node.target)
            if reg_key is not None:
                reg_grads[reg_key] = line
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "loss" for t in targets) and _mentions_reg(
                node.value
            ):
                keys = [k for k in (_param_key(n) for n in ast.walk(node.value)) if k]
                counts = Counter(k for k in keys if re.fullmatch(r"theta\d+", k))
                if counts:
                    twice = sorted(k for k, c in counts.items() if c > 1)
                    missing = [w for w in weights if w not in counts]
                    if twice or missing:
                        what = []
                        if twice:
                            what.append(f"counts {', '.join(twice)} twice")
                        if missing:
                            what.append(f"misses {', '.join(missing)}")
                        found.append(
                            f"{line}: the regularisation term {' and '.join(what)}; it "
                            f"should sum the squares of {', '.join(weights)}, each once"
                        )
    given = [w for w in weights if w in reg_grads]
    if given and len(given) < len(weights):
        missing = [w for w in weights if w not in reg_grads]
        found.append(
            f"{reg_grads[given[-1]]}: the regularisation gradient reg * theta is added to "
            f"{', '.join(given)} only; {', '.join(missing)} miss it"
        )
    return found
