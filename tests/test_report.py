"""The report page (layerwise.report, ``layerwise report``): everything a run folder holds is on
it, every figure is an embedded PNG, nothing reaches outside the file, text is escaped, and bad
folders are refused in one line without leaving a file behind."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest

from layerwise import cli
from layerwise.errors import ConfigError, LayerwiseError
from layerwise.recipe import Recipe
from layerwise.report import (
    PNG_SIGNATURE,
    JinjaMissing,
    cell,
    render_report,
    write_report,
)
from layerwise.runs import RunFolder, train_run

DATA_URI = "data:image/png;base64,"

DIAGNOSTICS = {
    "format": "layerwise-diagnostics",
    "version": 1,
    "every": 12,
    "sample_size": 128,
    "activation": "relu",
    "checks": [
        {
            "iteration": 0,
            "epoch": 0.0,
            "activations": {"1": {"mean": 0.3125, "std": 0.5, "dead": 0.02, "saturated": None}},
            "params": {"theta1": {"grad_norm": 0.1875, "weight_norm": 3.25, "update_ratio": None}},
        },
        {
            "iteration": 12,
            "epoch": 0.48,
            "activations": {"1": {"mean": 0.4375, "std": 0.625, "dead": 0.0625, "saturated": None}},
            "params": {"theta1": {"grad_norm": 0.0625, "weight_norm": 3.5, "update_ratio": 0.0012}},
        },
        {
            "iteration": 24,
            "epoch": 0.96,
            "activations": {"1": {"mean": 0.5625, "std": 0.75, "dead": 0.125, "saturated": None}},
            "params": {"theta1": {"grad_norm": 0.03125, "weight_norm": 3.75, "update_ratio": 8e-4}},
        },
    ],
    "histograms": {"first": {}, "last": {}},
}

DOCTOR = {
    "format": "layerwise-doctor",
    "version": 1,
    "verdict": "fail",
    "checks": [
        {
            "name": "initial_loss",
            "title": "Initial loss vs ln(C)",
            "verdict": "pass",
            "value": "2.31",
            "expected": "2.30 ± 0.69",
            "cause": None,
            "fix": None,
        },
        {
            "name": "dead_relu",
            "title": "Dead ReLUs",
            "verdict": "fail",
            "value": "0.61",
            "expected": "< 0.25",
            "cause": "<script>alert('x')</script> & a learning rate too high",
            "fix": "--lr 0.05",
        },
    ],
}


class Page(HTMLParser):
    """The parts of a page the tests look at: images, links, tags, sections, table cells."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.sections: set[str] = set()
        self.cells: list[str] = []
        self.code: list[str] = []
        self._open: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = dict(attrs)
        if tag == "img":
            self.images.append(found)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "srcset")]
        if tag == "section" and found.get("id"):
            self.sections.add(str(found["id"]))
        if tag in ("td", "th", "code"):
            self._open, self._text = tag, ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            (self.code if tag == "code" else self.cells).append(self._text.strip())
            self._open = None


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder: one epoch of the default recipe on the embedded digits."""
    folder = RunFolder.create(tmp_path_factory.mktemp("report") / "run")
    recipe = Recipe.from_options(hidden=(16,), epochs=1, batch_size=100)
    train_run(recipe, folder, verbose=False)
    folder.release()
    return folder.path


@pytest.fixture
def run(trained_run: Path, tmp_path: Path) -> Path:
    """A fresh copy of the trained run for one test (tests add and damage files in it)."""
    return Path(shutil.copytree(trained_run, tmp_path / "run-copy"))


def _with_extras(run: Path) -> Path:
    (run / "diagnostics.json").write_text(json.dumps(DIAGNOSTICS))
    (run / "doctor.json").write_text(json.dumps(DOCTOR))
    for name in ("diagnostics_histograms.png", "update_ratio.png"):
        shutil.copy(run / "cost.png", run / name)
    return run


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------------------------
# What the page shows
# --------------------------------------------------------------------------------------------


def test_every_png_is_embedded_as_a_readable_data_uri(run: Path) -> None:
    page = Page(render_report(_with_extras(run)))
    pngs = sorted(run.glob("*.png"))
    assert len(pngs) >= 6
    assert len(page.images) == len(pngs)  # the diagnostics figures once, not twice
    for image in page.images:
        src = str(image["src"])
        assert src.startswith(DATA_URI), src[:40]
        data = base64.b64decode(src[len(DATA_URI) :], validate=True)
        assert data.startswith(PNG_SIGNATURE)
        assert matplotlib.image.imread(io.BytesIO(data), format="png").ndim == 3
    embedded = {base64.b64decode(str(i["src"])[len(DATA_URI) :]) for i in page.images}
    assert embedded == {p.read_bytes() for p in pngs}
    captions = [str(i["alt"]) for i in page.images]
    assert "Predictions correct" in captions and "Update ratio" in captions


def test_metrics_epochs_and_recipe_are_all_shown(run: Path) -> None:
    page = Page(render_report(run))
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    cells = page.cells
    for key in ("val_acc", "test_acc", "best_val_acc", "train_seconds"):
        assert cells[cells.index(key) + 1] == f"{metrics[key]:.6g}", key
    assert cells[cells.index("score_name") + 1] == "accuracy"
    for name, value in metrics["test_metrics"].items():
        assert cells[cells.index(f"test {name}") + 1] == f"{value:.6g}"
    assert cells[cells.index("stopped_reason") + 1] == "—"
    assert cells[cells.index("iterations") + 1] == str(metrics["num_iterations"])
    for row in metrics["epochs"]:
        shown = [cell(row[c]) for c in ("epoch", "train_loss", "train_acc", "val_acc", "val_loss")]
        assert any(cells[i : i + 5] == shown for i in range(len(cells))), shown
    for key in ("dataset", "model", "update_rule", "learning_rate", "epochs", "batch_size"):
        assert cells[cells.index(key) + 1] == cell(config[key]), key
    assert cells[cells.index("hidden") + 1] == "[16]"  # nested values as JSON
    assert json.loads(cells[cells.index("recipe") + 1]) == config["recipe"]
    assert f"<h1>{run.name}</h1>" in render_report(run)


def test_diagnostics_and_doctor_sections_only_when_their_files_exist(run: Path) -> None:
    plain = Page(render_report(run))
    assert {"recipe", "metrics", "epochs", "figures"} <= plain.sections
    assert not {"diagnostics", "doctor"} & plain.sections
    (run / "diagnostics.json").write_text(json.dumps(DIAGNOSTICS))
    assert {"diagnostics"} == Page(render_report(run)).sections - plain.sections
    (run / "diagnostics.json").unlink()
    (run / "doctor.json").write_text(json.dumps(DOCTOR))
    assert {"doctor"} == Page(render_report(run)).sections - plain.sections


def test_diagnostics_shows_the_first_and_last_check(run: Path) -> None:
    cells = Page(render_report(_with_extras(run))).cells
    first, middle, last = DIAGNOSTICS["checks"]
    for check in (first, last):
        stats = check["activations"]["1"]
        assert any(
            cells[i : i + 5]
            == ["1", *(cell(stats[c]) for c in ("mean", "std", "dead", "saturated"))]
            for i in range(len(cells))
        ), stats
        param = check["params"]["theta1"]
        row = ["theta1", *(cell(param[c]) for c in ("grad_norm", "weight_norm", "update_ratio"))]
        assert any(cells[i : i + 4] == row for i in range(len(cells))), row
    assert cell(middle["activations"]["1"]["mean"]) not in cells  # only first and last
    assert cells.count("—") >= 3  # saturated twice, the first update ratio


def test_doctor_verdicts_and_fix_as_code(run: Path) -> None:
    text = render_report(_with_extras(run))
    page = Page(text)
    assert '<span class="verdict fail">fail</span></h2>' in text
    for check in DOCTOR["checks"]:
        i = page.cells.index(check["title"])
        assert page.cells[i + 1] == check["verdict"]
        assert page.cells[i + 2 : i + 4] == [check["value"], check["expected"]]
    assert page.code.count("--lr 0.05") == 1


def test_text_from_the_files_is_escaped(run: Path) -> None:
    text = render_report(_with_extras(run))
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; a learning rate" in text
    page = Page(text)
    assert "script" not in page.tags
    assert "<script>alert('x')</script> & a learning rate too high" in page.cells


def test_nothing_on_the_page_reaches_outside_it(run: Path) -> None:
    text = render_report(_with_extras(run))
    page = Page(text)
    assert page.urls, "the page has images and in-page links"
    assert all(u.startswith((DATA_URI, "#")) for u in page.urls), page.urls
    assert not {"script", "link", "iframe", "object", "embed", "base"} & page.tags
    outside = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    for marker in ("http:", "https:", "ftp:", "file:", "//", "url(", "@import"):
        assert marker not in outside.lower(), marker


def test_a_file_that_is_not_a_png_is_refused_by_name(run: Path) -> None:
    (run / "broken.png").write_bytes(b"GIF89a not a png at all")
    text = render_report(run)
    page = Page(text)
    assert len(page.images) == len(list(run.glob("*.png"))) - 1
    assert "broken.png refused: not a PNG file" in text
    assert base64.b64encode(b"GIF89a").decode() not in text


# --------------------------------------------------------------------------------------------
# Writing it, and refusing bad folders
# --------------------------------------------------------------------------------------------


def test_write_report_default_and_explicit_paths(run: Path, tmp_path: Path) -> None:
    written = write_report(RunFolder(run))
    assert written == run / "report.html"
    assert written.read_text(encoding="utf-8") == render_report(run)
    other = write_report(str(run), tmp_path / "elsewhere.html")
    assert other == tmp_path / "elsewhere.html" and other.stat().st_size > 10_000
    assert not list(run.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (
            lambda run: (run / "metrics.json").unlink(),
            "metrics.json' does not exist or is not a file; expected",
        ),
        (
            lambda run: (run / "config.json").unlink(),
            "config.json' does not exist or is not a file; expected",
        ),
        (lambda run: (run / "metrics.json").write_text("{oops"), "metrics.json' is not valid JSON"),
        (lambda run: (run / "config.json").write_text("[1, 2]"), "does not hold a JSON object"),
        (
            lambda run: (run / "doctor.json").write_text("{}"),
            "doctor.json' has format None, not 'layerwise-doctor'",
        ),
        (
            lambda run: (run / "diagnostics.json").write_text('{"format": "x"}'),
            "has format 'x', not 'layerwise-diagnostics'",
        ),
        (
            lambda run: (run / "metrics.json").write_text('{"epochs": 3}'),
            "'epochs' must be a list of JSON objects",
        ),
    ],
)
def test_bad_folders_are_refused_and_leave_no_report(run: Path, damage: Any, words: str) -> None:
    (run / "report.html").write_text("the old report")
    damage(run)
    with pytest.raises(ConfigError, match=re.escape(words)) as caught:
        write_report(run)
    assert str(run) in str(caught.value)
    assert (run / "report.html").read_text() == "the old report"
    assert not list(run.glob(".*.tmp"))


def test_a_path_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    for path in (tmp_path / "missing", tmp_path / "file.txt"):
        if path.name.endswith(".txt"):
            path.write_text("x")
        with pytest.raises(ConfigError, match="is not a folder; expected a run folder"):
            render_report(path)
    assert not (tmp_path / "report.html").exists()


def test_without_jinja2_the_error_says_what_to_install(
    run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 now raises ImportError
    with pytest.raises(JinjaMissing, match=re.escape("pip install 'layerwise[report]'")) as e:
        write_report(run)
    assert isinstance(e.value, LayerwiseError) and isinstance(e.value, ImportError)
    assert not (run / "report.html").exists()


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def test_the_command_writes_the_page_and_prints_its_path(run: Path, tmp_path: Path) -> None:
    rc, out, err = _cli(["report", str(run)])
    assert (rc, err) == (0, "")
    assert out == f"{run / 'report.html'}\n"
    assert Page((run / "report.html").read_text()).images
    target = tmp_path / "page.html"
    rc, out, err = _cli(["report", str(run), "--out", str(target)])
    assert (rc, out, err) == (0, f"{target}\n", "")
    assert target.read_text() == (run / "report.html").read_text()


def test_the_command_fails_in_one_line(run: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-run"
    rc, out, err = _cli(["report", str(missing)])
    assert (rc, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("layerwise: error: "), err
    assert str(missing) in err
    (run / "metrics.json").unlink()
    rc, out, err = _cli(["report", str(run)])
    assert (rc, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("layerwise: error: "), err
    assert "metrics.json" in err and not (run / "report.html").exists()
