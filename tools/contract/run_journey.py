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


def generate_client(directory: Path) -> None:
    """`ips_client` in directory, from the file as a third-party developer would generate it."""
    generator = shutil.which("openapi-python-client", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if generator is None:
        sys.exit("openapi-python-client is not installed: pip install -r tools/contract/requirements.txt")
    subprocess.run(
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
            # Anything the generator had to leave out of the client is a failure, not a footnote.
            "--fail-on-warning",
        ],
        check=True,
    )


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
