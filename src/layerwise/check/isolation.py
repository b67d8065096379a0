"""Running a submission's code in a child process with limits (isolation, not a sandbox).

:class:`Worker` starts ``python -m layerwise.check.worker`` with a memory cap (``RLIMIT_AS``)
and a CPU-time cap (``RLIMIT_CPU``, a backstop behind the wall-clock timeout), one BLAS
thread, and talks to it in JSON lines. A check that runs past its wall-clock timeout kills the
process; the next check starts a fresh one (loading the submission again), so an infinite loop
or a memory blow-up fails that check and not the run.

This keeps a broken submission from taking the grader down with it. It is not a security
sandbox: the code can read and write files and open sockets as the user running the grader.
Run untrusted submissions inside the autograder's container (Gradescope's, a throw-away
Docker container) as you would any student code. The limits use ``resource``, which Linux
enforces (macOS does not enforce ``RLIMIT_AS``; Windows has no ``resource``: there only the
timeout applies).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Defaults: seconds a check may take, MiB of address space the process may map (numpy and
#: its BLAS need about 200 of them), seconds the submission may take to load.
TIMEOUT, MEMORY_MB, LOAD_TIMEOUT = 20.0, 2048, 60.0


class WorkerDied(Exception):
    """The child process ended, timed out or answered garbage; the message says which."""


def _limits(memory_mb: int, cpu_seconds: int) -> Any:
    def apply() -> None:  # runs in the child, between fork and exec
        try:
            import resource
        except ImportError:  # pragma: no cover (Windows)
            return
        memory = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))

    return apply


class Worker:
    """One child process holding the loaded submission."""

    def __init__(self, path: Path, skip: str | None, timeout: float, memory_mb: int) -> None:
        self.timeout = timeout
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}  # fmt: skip
        self._stderr = tempfile.TemporaryFile()
        use_limits = os.name == "posix"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "layerwise.check.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=str(path.parent),
            preexec_fn=_limits(memory_mb, int(LOAD_TIMEOUT + timeout)) if use_limits else None,
        )
        self._buffer = b""
        hello = self._ask({"path": str(path), "skip": skip}, LOAD_TIMEOUT, "loading the submission")
        self.found: dict[str, str] = hello["found"]
        self.notes: list[str] = hello["notes"]

    def run(self, item: str, check: str) -> dict[str, Any]:
        """The answer to one check; WorkerDied when the process did not give one."""
        return self._ask({"item": item, "check": check}, self.timeout, f"check {check!r}")

    def _ask(self, message: dict[str, Any], timeout: float, what: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
        except OSError:
            raise WorkerDied(self._death(what)) from None
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise WorkerDied(f"{what} did not finish within {timeout:g} s (an endless loop?)")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise WorkerDied(self._death(what))
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:
            self.close()
            raise WorkerDied(f"{what}: the worker answered {line[:80]!r}") from None
        return answer

    def _death(self, what: str) -> str:
        code = self.process.wait(timeout=10)
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode(errors="replace").strip().splitlines()
        last = tail[-1] if tail else ""
        if code < 0:
            return f"{what}: the process was killed by signal {-code} (the CPU-time limit?)"
        if "MemoryError" in last:
            return f"{what}: ran out of memory under the limit ({last})"
        return f"{what}: the process exited with status {code}" + (f" ({last})" if last else "")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()
