"""Draw the README's figures from a real MNIST run into docs/figures/.

Trains the seed notebook's Keras MLP in NumPy (784-512-512-512-10, ReLU, dropout 0.2, Adam
with learning rate 1e-3, batches of 128) with ``layerwise train``, or reuses a finished run
folder, then draws every figure of the run (``layerwise plot``) and copies them here::

    python docs/make_figures.py --data-dir ../shared/datasets/mnist            # train 3 epochs
    python docs/make_figures.py --run runs/20250101-120000-mnist-fc            # reuse a run

Each PNG must stay under 200 KB, so the README stays light; the script fails otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from layerwise import cli
from layerwise.plots import RUN_FIGURES

OUT = Path(__file__).resolve().parent / "figures"
MAX_BYTES = 200_000


def _train(data_dir: str, epochs: int, run: Path) -> None:
    argv = [
        "train", "--dataset", "mnist", "--data-dir", data_dir, "--model", "fc",
        "--hidden", "512,512,512", "--activation", "relu", "--dropout", "0.2",
        "--weight-init", "he", "--update-rule", "adam", "--lr", "1e-3", "--lr-decay", "1",
        "--batch-size", "128", "--epochs", str(epochs), "--seed", "0", "--out", str(run),
        "--print-every", "200",
    ]  # fmt: skip
    if cli.main(argv) != 0:
        raise SystemExit("training failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", help="folder of the four MNIST files: train a new run")
    source.add_argument("--run", type=Path, help="a finished MNIST run folder to draw from")
    parser.add_argument("--epochs", type=int, default=3, help="epochs when training")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            run = Path(tmp) / "run"
            _train(args.data_dir, args.epochs, run)
        # Redraw from the run folder's files, with this checkout's plotting code.
        if cli.main(["plot", str(run)]) != 0:
            raise SystemExit(f"cannot draw the figures of {run}")
        args.out.mkdir(parents=True, exist_ok=True)
        too_big = []
        for name in RUN_FIGURES:
            dest = args.out / name
            shutil.copyfile(run / name, dest)
            size = dest.stat().st_size
            print(f"{dest}: {size / 1000:.0f} KB")
            if size > MAX_BYTES:
                too_big.append(name)
    if too_big:
        print(f"larger than {MAX_BYTES // 1000} KB: {', '.join(too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
