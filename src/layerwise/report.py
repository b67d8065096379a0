"""One self-contained HTML page of a run folder: ``layerwise report RUN``.

The page is meant to be mailed, attached to an issue or opened years later without layerwise,
so all it shows is in the one file: the recipe, the metrics, the per-epoch table, every PNG
figure as a ``data:`` URI, and diagnostics.json and doctor.json when the run has them. Inline
CSS only: no script, no link outside the page. Jinja2 (the ``[report]`` extra, imported only to
render) autoescapes every value, so text from a file is shown, never interpreted.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from layerwise.errors import ConfigError, LayerwiseError
from layerwise.io import read_json, write_bytes
from layerwise.runs import RunFolder

__all__ = ["INSTALL_HINT", "JinjaMissing", "render_report", "report_context", "write_report"]

INSTALL_HINT = "pip install 'layerwise[report]'"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DIAGNOSTICS, DOCTOR, REPORT = RunFolder.DIAGNOSTICS, RunFolder.DOCTOR, RunFolder.REPORT
#: Figures drawn by the Diagnostics callback: shown beside its tables, not among the others.
DIAGNOSTIC_FIGURES = RunFolder.DIAGNOSTICS_FIGURES
METRIC_KEYS = ("score_name", "val_acc", "test_acc", "best_val_acc", "train_seconds")
#: The columns of the page's tables: the per-epoch rows, a check's layers and parameters.
COLUMNS = {
    "epoch": ("epoch", "train_loss", "train_acc", "val_acc", "val_loss"),
    "activations": ("mean", "std", "dead", "saturated"),
    "params": ("grad_norm", "weight_norm", "update_ratio"),
}
VERDICTS = ("pass", "warn", "fail")
MISSING = "—"  # what a None (or absent) value is shown as


class JinjaMissing(LayerwiseError, ImportError):
    """Jinja2, which rendering a report needs, is not installed; the message says how to fix it."""


def cell(value: Any) -> str:
    """A value as table text: None as a dash, floats to 6 significant digits (enough to read,
    short enough to scan a column), containers as compact JSON."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _folder(run: str | Path | RunFolder) -> RunFolder:
    folder = run if isinstance(run, RunFolder) else RunFolder(run)
    if not folder.path.is_dir():
        raise ConfigError(
            f"run folder {str(folder.path)!r} does not exist or is not a folder; expected a run "
            "folder written by 'layerwise train'",
            "run",
        )
    return folder


def _json_object(path: Path, expected: str, format_name: str | None = None) -> dict[str, Any]:
    """A JSON object file, or ConfigError naming the file and what it should have held."""

    def refused(problem: str) -> ConfigError:
        return ConfigError(f"{str(path)!r} {problem}; expected {expected}", "run")

    if not path.is_file():
        raise refused("does not exist or is not a file")
    try:
        content = read_json(path)
    except OSError as e:
        raise refused(f"cannot be read ({e.strerror})") from None
    if not isinstance(content, dict):
        raise refused("does not hold a JSON object")
    if format_name is not None and content.get("format") != format_name:
        raise refused(f"has format {content.get('format')!r}, not {format_name!r}")
    return content


def _list_of_objects(content: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    rows = content.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{str(path)!r}: {key!r} must be a list of JSON objects", "run")
    return rows


def _recipe_rows(config: dict[str, Any]) -> list[dict[str, Any]]:
    """config.json as rows of a table; the nested recipe, which repeats the flat settings, last."""
    return [_config_row(name, config[name]) for name in sorted(config, key=lambda k: k == "recipe")]


def _config_row(name: str, value: Any) -> dict[str, Any]:
    """A setting as text; a nested one as JSON, indented (a block) when it would not fit a line."""
    if not isinstance(value, (dict, list)):
        return {"name": name, "text": cell(value), "block": False}
    compact = json.dumps(value)
    block = len(compact) > 60
    return {"name": name, "text": json.dumps(value, indent=2) if block else compact, "block": block}


def _metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The results, by name; a run from an older layerwise may lack some of them."""
    rows = [(k, cell(metrics[k])) for k in METRIC_KEYS if k in metrics]
    test_metrics = metrics.get("test_metrics") or {}
    if isinstance(test_metrics, dict):
        rows += [(f"test {name}", cell(value)) for name, value in test_metrics.items()]
    rows.append(("stopped_reason", cell(metrics.get("stopped_reason"))))
    for k in ("num_iterations", "iterations_per_epoch"):
        if k in metrics:
            rows.append((k.replace("num_", ""), cell(metrics[k])))
    return rows


def _figure(path: Path) -> dict[str, str]:
    """One figure: its caption and data URI, or why it was refused (not a PNG)."""
    caption = path.stem.replace("_", " ").replace("-", " ").capitalize()
    figure = {"name": path.name, "caption": caption, "src": "", "refused": ""}
    try:
        data = path.read_bytes()
    except OSError as e:
        return {**figure, "refused": f"cannot be read ({e.strerror})"}
    if not data.startswith(PNG_SIGNATURE):
        return {**figure, "refused": "not a PNG file (its first bytes are not the PNG signature)"}
    return {**figure, "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii")}


def _check_rows(check: dict[str, Any], key: str) -> list[list[str]]:
    """One table of a diagnostics check (``activations`` or ``params``): a row per name."""
    table = check.get(key)
    if not isinstance(table, dict):
        return []
    stats = {name: row if isinstance(row, dict) else {} for name, row in table.items()}
    return [[name, *(cell(row.get(c)) for c in COLUMNS[key])] for name, row in stats.items()]


def _diagnostics(path: Path) -> dict[str, Any] | None:
    """The first and last check of diagnostics.json; None when the run has none."""
    if not path.exists():
        return None
    content = _json_object(
        path, "the diagnostics of a Diagnostics callback", "layerwise-diagnostics"
    )
    checks = _list_of_objects(content, "checks", path)
    picked = [("First check", checks[0]), ("Last check", checks[-1])] if len(checks) > 1 else []
    picked = picked or [("Only check", check) for check in checks]
    return {
        "settings": [(k, cell(content.get(k))) for k in ("every", "sample_size", "activation")],
        "checks": [
            {
                "label": label,
                "iteration": cell(check.get("iteration")),
                "epoch": cell(check.get("epoch")),
                "activations": _check_rows(check, "activations"),
                "params": _check_rows(check, "params"),
            }
            for label, check in picked
        ],
    }


def _verdict(value: Any) -> str:
    """A verdict is also a CSS class; anything but the three known ones shows as unknown."""
    return value if value in VERDICTS else "unknown"


def _doctor(path: Path) -> dict[str, Any] | None:
    """The overall verdict and one row per check of doctor.json; None when the run has none."""
    if not path.exists():
        return None
    content = _json_object(path, "the verdicts of 'layerwise doctor'", "layerwise-doctor")
    checks = [
        {
            "title": cell(c.get("title") or c.get("name")),
            "verdict": _verdict(c.get("verdict")),
            **{k: cell(c.get(k)) for k in ("value", "expected", "cause")},
            "fix": None if c.get("fix") is None else cell(c.get("fix")),
        }
        for c in _list_of_objects(content, "checks", path)
    ]
    return {"verdict": _verdict(content.get("verdict")), "checks": checks}


def report_context(run: str | Path | RunFolder) -> dict[str, Any]:
    """Everything the template shows, read and checked from the folder (no Jinja2 needed)."""
    folder = _folder(run)
    config = _json_object(folder.config_path, "the recipe written by 'layerwise train'")
    metrics = _json_object(folder.metrics_path, "the metrics of a finished 'layerwise train'")
    epochs = _list_of_objects(metrics, "epochs", folder.metrics_path)
    diagnostics = _diagnostics(folder.path / DIAGNOSTICS)
    pngs = sorted(p for p in folder.path.glob("*.png") if p.is_file())
    aside = {p for p in pngs if diagnostics and p.name in DIAGNOSTIC_FIGURES}
    if diagnostics:
        diagnostics["figures"] = [_figure(p) for p in sorted(aside)]
    return {
        "title": folder.path.resolve().name,
        "recipe": _recipe_rows(config),
        "metrics": _metric_rows(metrics),
        "columns": COLUMNS,
        "epochs": [[cell(row.get(c)) for c in COLUMNS["epoch"]] for row in epochs],
        "figures": [_figure(p) for p in pngs if p not in aside],
        "diagnostics": diagnostics,
        "doctor": _doctor(folder.path / DOCTOR),
    }


def render_report(run: str | Path | RunFolder) -> str:
    """The report page of ``run`` (a run folder's path or a RunFolder) as HTML text."""
    context = report_context(run)
    try:
        import jinja2
    except ImportError:
        raise JinjaMissing(
            "layerwise report needs the optional package jinja2, which is not installed; "
            f"install it with: {INSTALL_HINT}"
        ) from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("layerwise", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name in the template fails, loudly
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context)


def write_report(run: str | Path | RunFolder, out: str | Path | None = None) -> Path:
    """Write the report of ``run`` to ``out`` (default ``<run>/report.html``), atomically: the
    page is rendered whole first, so a bad input leaves no file and an old report intact."""
    folder = _folder(run)
    page = render_report(folder)
    dest = folder.path / REPORT if out is None else Path(out)
    write_bytes(dest, page.encode("utf-8"))
    return dest
