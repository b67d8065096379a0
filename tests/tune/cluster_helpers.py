"""A real Dask cluster for the tests: ``dask scheduler`` and ``dask worker`` processes.

Each process is started from the command line, as on a real cluster, on loopback. Each worker
has its own working directory and temporary folder, and cannot see the folder ``hidden``
(where the tests keep their studies):

- ``mount``: the worker runs in a mount namespace of its own (``unshare --mount``) in which an
  empty tmpfs is mounted over ``hidden``; needs CAP_SYS_ADMIN (root in most containers);
- ``user``: else, when the tests run as root, the worker runs as ``nobody`` (``setpriv``) and
  ``hidden`` is made ``0700``.

:func:`hiding_method` says which one works here (None: neither).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: One BLAS thread per worker, as ``layerwise tune --jobs`` gives its local workers.
_SINGLE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_HIDE = 'mount -t tmpfs -o size=1m,mode=0700 layerwise-hidden "$0" && exec "$@"'


def _dask() -> list[str]:
    script = Path(sys.executable).parent / "dask"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dask"]


def hiding_method(probe: Path) -> str | None:
    """How workers can be kept from seeing a folder on this machine (see the module)."""
    probe.mkdir(parents=True, exist_ok=True)
    if shutil.which("unshare"):
        ok = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _HIDE, str(probe),
             "true"],
            capture_output=True,
        )  # fmt: skip
        if ok.returncode == 0:
            return "mount"
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("setpriv"):
        return "user"
    return None


class Cluster:
    """``dask scheduler`` and ``workers`` ``dask worker`` processes (no nanny: a killed
    worker stays dead), each worker unable to see ``hidden`` (``method`` None: able to)."""

    def __init__(self, base: Path, hidden: Path, method: str | None, workers: int = 2) -> None:
        self.base, self.hidden, self.method = base, hidden, method
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: dict[str, int] = {}  # address -> pid
        env = {**os.environ, **_SINGLE}
        info = base / "scheduler.json"
        sched_dir = base / "scheduler"
        sched_dir.mkdir(parents=True)
        self._start(
            [*_dask(), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(info)],
            sched_dir, env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip().endswith("}"):
            self._check_alive()
            assert time.monotonic() < deadline, "the scheduler did not start in 60 s"
            time.sleep(0.1)
        import json

        self.address = json.loads(info.read_text())["address"]
        hidden.mkdir(parents=True, exist_ok=True)
        marker = hidden / "written-by-the-driver"
        marker.write_text("the workers must not see this\n")
        if method == "user":
            hidden.chmod(0o700)
        for k in range(workers):
            home = base / f"worker{k}"
            home.mkdir()
            if method == "user":
                home.chmod(0o777)
            command = [
                *_dask(), "worker", self.address, "--nthreads", "1", "--no-nanny",
                "--no-dashboard", "--name", f"w{k}", "--local-directory", str(home),
                "--death-timeout", "60",
            ]  # fmt: skip
            self._start(self._hidden(command), home, {**env, "TMPDIR": str(home)})
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            deadline = time.monotonic() + 90
            while len(client.scheduler_info()["workers"]) < workers:
                self._check_alive()
                assert time.monotonic() < deadline, f"no {workers} workers in 90 s\n{self.logs()}"
                time.sleep(0.1)
            self.workers = dict(client.run(os.getpid))
            self.sees_hidden = client.run(os.path.exists, str(marker))
            self.cwd = client.run(os.getcwd)
            self.tmp = client.run(lambda: __import__("tempfile").gettempdir())

    def _hidden(self, command: list[str]) -> list[str]:
        if self.method is None:  # benchmarks: nothing hidden
            return command
        if self.method == "mount":
            return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _HIDE,
                    str(self.hidden), *command]  # fmt: skip
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]

    def _start(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        log = open(cwd / "log.txt", "wb")
        self.procs.append(
            subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        )

    def _check_alive(self) -> None:
        for proc in self.procs:
            assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.base.glob("*/log.txt"))

    def processing(self) -> dict[str, list[Any]]:
        """What each worker is running now, by address."""
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            return {w: list(keys) for w, keys in client.processing().items()}

    def signal_worker(self, address: str, sig: int) -> None:
        os.kill(self.workers[address], sig)

    def close(self) -> None:
        """Workers killed (one may be stopped), then the scheduler asked to stop."""
        for proc in self.procs[1:]:
            proc.kill()
        self.procs[0].terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until_running(cluster: Cluster, timeout: float = 90) -> str:
    """The address of a worker that is running a trial, as soon as one is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker, keys in cluster.processing().items():
            if any("run_trial" in str(key) for key in keys):
                return worker
        time.sleep(0.05)
    raise AssertionError(f"no trial started in {timeout} s")
