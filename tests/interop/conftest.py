"""A real `ampere serve` process for the interop tests, on free loopback ports.

The server binary comes from AMPERE_BIN (scripts/test.sh builds it); the data directory is a
fresh temporary one per test, so every test starts from an empty store.
"""

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AMPERE_BIN", str(ROOT / "target" / "debug" / "ampere"))
BANNER_WAIT_S = 30


class Server:
    """A running server and the commands an operator would use beside it."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.process = None
        self.ws_url = None  # ws://127.0.0.1:PORT/ocpp
        self.wss_url = None  # wss://127.0.0.1:PORT/ocpp, when TLS is on
        self.http_url = None  # http://127.0.0.1:PORT (REST API under /api/v1)
        self.output = []

    def cli(self, *args: str) -> str:
        """Runs an `ampere` subcommand against this server's data directory."""
        done = subprocess.run(
            [BIN, *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"ampere {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    def start(self, *extra: str, env: dict | None = None):
        self.process = subprocess.Popen(
            [
                BIN,
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--ocpp-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
                *map(str, extra),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={
                **os.environ,
                "RUST_LOG": os.environ.get("RUST_LOG", "info"),
                **(env or {}),
            },
        )
        deadline = time.monotonic() + BANNER_WAIT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            for scheme in ("ws", "wss"):
                found = re.search(rf"({scheme}://[0-9.:]+)/ocpp/\{{identity\}}", line)
                if found:
                    setattr(self, f"{scheme}_url", found.group(1) + "/ocpp")
            api = re.search(r"REST API:\s+(http://[0-9.:]+)/api/v1", line)
            if api:
                self.http_url = api.group(1)
            if "REST API:" in line and self.ws_url:
                # Keep reading, or a full pipe would block the server's logging.
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise AssertionError("server printed no charger URL:\n" + "".join(self.output))

    @property
    def ocpp_url(self):
        return self.ws_url

    def _drain(self):
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None

    def db(self) -> sqlite3.Connection:
        """Read-only view of the store, to check what was made durable."""
        path = self.data_dir / "ampere.db"
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "data")
    yield srv
    srv.stop()
