"""Real server processes for tests about processes: crashes, restarts, replicas."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _obeying_permissions() -> list[str]:
    """A command prefix under which the process obeys file permissions. Root ignores
    them (CI runs as root); without CAP_DAC_OVERRIDE it is refused like anyone else."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


class Server:
    def __init__(
        self, database_url: str, index_dir: Path, log: Path, *, obey_permissions: bool = False
    ) -> None:
        self.prefix = _obeying_permissions() if obey_permissions else []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {
            "OPSGRAPH_DATABASE_URL": database_url,
            "OPSGRAPH_INDEX_DIR": str(index_dir),
            "OPSGRAPH_ENV": "test",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    *self.prefix,
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "app.main:app",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code in (200, 503):
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in 60 s")

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no flushing, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running(
    database_url: str, index_dir: Path, log: Path, *, obey_permissions: bool = False
) -> Iterator[Server]:
    server = Server(database_url, index_dir, log, obey_permissions=obey_permissions).start()
    try:
        yield server
    finally:
        server.stop()
