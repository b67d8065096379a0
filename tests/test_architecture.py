"""The package's layers hold: import-linter's contracts (pyproject.toml) are kept, they fail
when broken, and every module is placed in a layer (a new module cannot slip past them)."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import layerwise

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
#: The modules above the core: they may import it, and one another without cycles.
UPPER = {
    "cli",
    "tune",
    "frameworks",
    "plots",
    "recipe",
    "recipes",
    "options",
    "runs",
    "compare",
    "gradient_report",
    "check",
    "report",
    "doctor",
    "diagnostics_plots",
    "assignment",
}


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("lint-imports is not installed (the [dev] extra installs import-linter)")
    return subprocess.run(
        [exe, "--no-cache", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


def _contract(contract_id: str) -> dict:
    return next(c for c in CONTRACTS["contracts"] if c["id"] == contract_id)


def test_the_contracts_are_kept() -> None:
    proc = _lint_imports()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout


def test_a_broken_contract_fails(tmp_path: Path) -> None:
    # validation imports errors, so forbidding that must be reported as broken.
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "layerwise"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "validation may not import errors"\ntype = "forbidden"\n'
        'source_modules = ["layerwise.validation"]\nforbidden_modules = ["layerwise.errors"]\n'
    )
    proc = _lint_imports(str(config))
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout and "layerwise.validation -> layerwise.errors" in proc.stdout


def test_every_module_is_placed_in_a_layer() -> None:
    core = {m.removeprefix("layerwise.") for m in _contract("core")["source_modules"]}
    found = {m.name for m in pkgutil.iter_modules(layerwise.__path__)} - {"__main__"}
    unplaced = sorted(found - core - UPPER)
    assert not unplaced, f"add {unplaced} to the core contract in pyproject.toml or to UPPER"
    assert not core & UPPER
    assert set(_contract("core")["forbidden_modules"]) == {
        "layerwise.cli",
        "layerwise.tune",
        "layerwise.frameworks",
        "layerwise.plots",
    }


def test_only_the_cli_parses_a_command_line() -> None:
    # argv is not a configuration format: outside the CLI nothing parses one.
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src" / "layerwise").rglob("*.py")
        if "parse_args(" in p.read_text() and "cli" not in p.relative_to(ROOT).parts
    ]
    assert offenders == []
