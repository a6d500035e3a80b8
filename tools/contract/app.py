"""The running app for the contract checks: `ips serve` on a fresh database, and a first admin.

Both contract checks (run_schemathesis.py and run_journey.py) talk to the real binary over HTTP, the way a
third-party client would. This module starts it on a free port against a new SQLite file in a temporary
directory (or a new PostgreSQL database), waits until it is ready, and always stops it again.
Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Long enough that no access token of a seeded role expires during a run.
ACCESS_TOKEN_TTL_SECONDS = "7200"


def default_ips_binary() -> Path:
    """The debug build that `cargo test` already produced."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "ips"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: object


class App:
    """`ips serve` on a fresh database. Use as a context manager: the server is stopped on exit."""

    def __init__(self, ips: Path, backend: str = "sqlite", env: dict[str, str] | None = None):
        if not ips.is_file():
            sys.exit(f"{ips} does not exist: build it first (cargo build, or cargo test --workspace)")
        if backend not in ("sqlite", "postgres"):
            sys.exit(f"unknown backend {backend!r}: sqlite or postgres")
        self.ips = ips
        self.backend = backend
        self.extra_env = env or {}
        self.dir = Path(tempfile.mkdtemp(prefix="ips-contract-"))
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.dir / "ips.log"
        self._pg_database: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> App:
        try:
            self.database_url = self._create_database()
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPS_") and k != "DATABASE_URL"}
        env.update(
            DATABASE_URL=self.database_url,
            IPS_BIND=f"127.0.0.1:{self.port}",
            IPS_LOG="warn",
            IPS_ACCESS_TOKEN_TTL_SECONDS=ACCESS_TOKEN_TTL_SECONDS,
            IPS_HTTP_WORKERS="2",
        )
        env.update(self.extra_env)
        return env

    def _create_database(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite://{self.dir / 'ips.db'}"
        base = os.environ.get("IPS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        name = f"ips_contract_{os.getpid()}_{self.port}"
        subprocess.run(["psql", base, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        self._pg_database = name
        return base.rsplit("/", 1)[0] + "/" + name

    def _start(self) -> None:
        log = open(self.log_path, "wb")
        # The API alone, no worker: nothing a test makes up (a webhook URL, a push token) is ever
        # delivered anywhere.
        self._process = subprocess.Popen(
            [str(self.ips), "serve"], env=self._env(), stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"ips serve exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                if self.request("GET", "/health/ready").status == 200:
                    print(f"ips serve is ready at {self.base_url} ({self.backend})", flush=True)
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"ips serve was not ready within 60 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._pg_database is not None:
            base = os.environ.get("IPS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
            subprocess.run(["psql", base, "-qc", f'DROP DATABASE IF EXISTS "{self._pg_database}" WITH (FORCE)'])
            self._pg_database = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- talking to it -----------------------------------------------------------------------------

    def create_staff(self, email: str, name: str, role: str, password: str) -> None:
        """The documented way to make the first account: `ips admin create-staff`, password on stdin."""
        subprocess.run(
            [str(self.ips), "admin", "create-staff", "--email", email, "--name", name, "--role", role],
            input=(password + "\n").encode(),
            env=self._env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def request(
        self, method: str, path: str, token: str | None = None, body: object = None, headers: dict | None = None
    ) -> Response:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                raw, status, hdrs = res.read(), res.status, dict(res.headers)
        except urllib.error.HTTPError as e:
            raw, status, hdrs = e.read(), e.code, dict(e.headers)
        try:
            parsed: object = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Response(status, hdrs, parsed)

    def expect(self, status: int, method: str, path: str, **kwargs: object) -> dict:
        """A seeding step that must succeed: anything else stops the run with the server's answer."""
        res = self.request(method, path, **kwargs)  # type: ignore[arg-type]
        if res.status != status:
            raise RuntimeError(f"{method} {path}: expected {status}, got {res.status}: {res.body}")
        return res.body  # type: ignore[return-value]
