"""The process a submission runs in: ``python -m layerwise.check.worker``.

It speaks JSON lines with :mod:`layerwise.check.isolation`: the first line it reads names the
submission; it loads it and answers which items it defines; then every line it reads names a
check, which it runs and answers. The student's code prints wherever it likes: file
descriptor 1 is pointed at stderr before the submission loads, and the answers go through a
private duplicate of the original stdout, so a ``print`` cannot corrupt the protocol.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def _answer(stream: Any, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _found(ns: dict[str, Any], checks: dict[str, Any], kinds: dict[str, str]) -> dict[str, str]:
    """item -> "own" (defined by the submission), "imported" (someone else's: a copy of the
    reference does not count), or "wrong kind" (a class where a function belongs)."""
    from layerwise.check.loading import MODULE_NAME

    found = {}
    for item in checks:
        obj = ns.get(item)
        if obj is None:
            continue
        is_class = isinstance(obj, type)
        if (kinds[item] == "class") != is_class or not callable(obj):
            found[item] = "wrong kind"
        elif getattr(obj, "__module__", None) != MODULE_NAME:
            found[item] = f"imported from {getattr(obj, '__module__', '?')}"
        else:
            found[item] = "own"
    return found


def _run_check(ns: dict[str, Any], item: str, name: str, labels: set[str]) -> dict[str, Any]:
    import numpy as np

    from layerwise.check.catalog import find
    from layerwise.check.compare import CheckFailed
    from layerwise.check.loading import where_in_submission

    spec = find(item, name)
    np.random.seed(0)  # the seed's test cells draw from the global stream
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            outcome = spec.function(ns)
    except CheckFailed as e:
        return {"passed": False, "diagnosis": e.diagnosis, "measured": e.measured,
                "tolerance": e.tolerance, "seconds": time.perf_counter() - start}  # fmt: skip
    except MemoryError:
        message = "ran out of memory (MemoryError) under the check's memory limit"
        return {"passed": False, "seconds": time.perf_counter() - start, "diagnosis": message}
    except BaseException as e:  # the student's code raised: say what and where
        text = " ".join(str(e).split())
        what = f"{type(e).__name__}: {text}" if text else type(e).__name__
        if isinstance(e, NotImplementedError):
            what = "not implemented yet (NotImplementedError)"
        return {"passed": False, "seconds": time.perf_counter() - start,
                "diagnosis": f"raised {what}{where_in_submission(e, labels)}"}  # fmt: skip
    return {"passed": True, "measured": outcome.measured, "tolerance": outcome.tolerance,
            "diagnosis": None, "seconds": time.perf_counter() - start}  # fmt: skip


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the submission's prints go to stderr
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.readline())
    from layerwise.check.catalog import load_checks
    from layerwise.check.loading import load, read_cells
    from layerwise.check.registry import KINDS

    checks = load_checks()
    cells = read_cells(request["path"])
    ns, notes = load(cells, request.get("skip"))
    labels = {c.where for c in cells}
    _answer(protocol, {"ready": True, "found": _found(ns, checks, KINDS), "notes": notes})
    for line in sys.stdin:
        ask = json.loads(line)
        _answer(protocol, _run_check(ns, ask["item"], ask["check"], labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
