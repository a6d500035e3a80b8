#!/usr/bin/env python3
"""Generates a Python client from openapi.yaml and drives a participant's journey through it.

Starts `ips serve` on a fresh database, makes the first admin with `ips admin create-staff`, generates a
client with openapi-python-client into a temporary directory (generated code is never committed), and
runs journey.py against the server with it. The server is always stopped.

    python3 tools/contract/run_journey.py [--backend sqlite|postgres]

Needs the packages of tools/contract/requirements.txt.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from app import REPO, App, default_ips_binary

HERE = Path(__file__).resolve().parent
ADMIN_EMAIL = "admin@journey.example"
ADMIN_PASSWORD = "journey admin password"


# What the generator may leave out of the client, and why. It knows JSON, text, binary and form bodies
# but not YAML, so the one YAML answer, the contract document itself (GET /openapi.yaml), is left out:
# a client of the API has no use for it. Anything else it cannot follow fails the check.
EXPECTED_WARNINGS = {"WARNING parsing GET /openapi.yaml within health."}


def generate_client(directory: Path) -> None:
    """`ips_client` in directory, from the file as a third-party developer would generate it."""
    search = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    generator = shutil.which("openapi-python-client", path=search)
    if generator is None:
        sys.exit("openapi-python-client is not installed: pip install -r tools/contract/requirements.txt")
    result = subprocess.run(
        [
            generator,
            "generate",
            "--path",
            str(REPO / "openapi.yaml"),
            "--config",
            str(HERE / "openapi-python-client.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(directory / "ips_client"),
        ],
        capture_output=True,
        text=True,
    )
    warnings = {line.strip() for line in result.stderr.splitlines() if line.startswith("WARNING")}
    if result.returncode != 0 or warnings - EXPECTED_WARNINGS:
        print(result.stdout + result.stderr)
        sys.exit("openapi-python-client could not follow openapi.yaml (above)")
    print(f"generated the client ({len(warnings)} expected warning)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ips", type=Path, default=default_ips_binary(), help="the ips binary")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ips-client-") as tmp, App(args.ips, args.backend) as app:
        generate_client(Path(tmp))
        app.create_staff(ADMIN_EMAIL, "Journey Admin", "admin", ADMIN_PASSWORD)
        env = dict(os.environ, PYTHONPATH=tmp)
        result = subprocess.run(
            [
                sys.executable,
                str(HERE / "journey.py"),
                "--base-url",
                app.base_url,
                "--admin-email",
                ADMIN_EMAIL,
                "--admin-password",
                ADMIN_PASSWORD,
            ],
            env=env,
        )
        if result.returncode != 0:
            print(f"the server's log:\n{app.log_tail()}")
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
