#!/usr/bin/env python3
"""Holds the running app to openapi.yaml with schemathesis, over every operation, as every role.

Starts `ips serve` on a fresh database, seeds a programme (seed.py), and runs schemathesis once per role
with that role's token, over the operations the role may call, then once without a token over the public
ones. Operations that end the caller's own session run last, each in a run of its own with a session made
for it, so they cannot pull the token from under the other runs. The server is always stopped.

    python3 tools/contract/run_schemathesis.py [--backend sqlite|postgres] [--max-examples N] [--seed N]

Needs the packages of tools/contract/requirements.txt. Exits non-zero when any run found a failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from app import REPO, App, default_ips_binary
from seed import Programme, enrol, login, seed

OPENAPI = REPO / "openapi.yaml"

# Operations that end the caller's session (or every session of the caller), each run on its own.
SESSION_ENDING = ("logout", "revokeSession", "changePassword", "withdraw")

# The runs go in this order because later ones may undo what earlier ones rely on: a supervisor may
# reassign or close the seeded participant's case, an administrator may deactivate the supervisor and the
# specialist, and fuzzed logins fill the rate limiter. So: the participant, the specialist, the
# supervisor, then the operations that end sessions, the administrator, and last the public operations.
ROLES_FIRST = ("participant", "specialist", "supervisor")

# Every check of `--checks all` that applies here. Left out: `max_response_time`, because timings are
# never asserted (this machine is shared), and `object_level_authorization`, which needs a second user
# of each role; a participant never seeing another's data, and a specialist never a participant outside
# their caseload, are tested from the attacker's side in tests/api/authorization.rs.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
]


def operations() -> list[dict]:
    """Every operation of the file with its id, method and path, who may call it (its `x-roles`), whether
    it is public (`x-roles: [public]`, no token), and the operations its responses link to."""
    spec = yaml.safe_load(OPENAPI.read_text())
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            key = f"{method.upper()} {path}"
            roles = tuple(op.get("x-roles") or ())
            if not roles:
                sys.exit(f"run_schemathesis.py: {key} names no roles (x-roles): it would go untested")
            links = {
                link["operationId"]
                for response in op.get("responses", {}).values()
                for link in response.get("links", {}).values()
                if "operationId" in link
            }
            found.append(
                {"id": op["operationId"], "key": key, "public": "public" in roles, "roles": roles, "links": links}
            )
    return found


def phases(ops: list[dict], operation_ids: list[str]) -> str:
    """The phases of a run: stateful testing only where a link of the file joins two of its operations."""
    chosen = set(operation_ids)
    linked = any(o["links"] & chosen for o in ops if o["id"] in chosen)
    return "examples,coverage,fuzzing,stateful" if linked else "examples,coverage,fuzzing"


def config_file(directory: Path, name: str, token: str | None, args: argparse.Namespace) -> Path:
    """The schemathesis.toml of one run: the seed, the bounds, the checks' settings and the token."""
    lines = [
        f"seed = {args.seed}",
        # One request at a time: with the fixed seed, the same requests in the same order every run.
        "workers = 1",
        "[generation]",
        f"max-examples = {args.max_examples}",
        # No example database and no cache (kept in the working directory by default) between runs:
        # what a run sends depends on the seed alone.
        'database = "none"',
        "[cache]",
        "enabled = false",
        "[phases.stateful]",
        f"max-steps = {args.max_steps}",
        "[checks.positive_data_acceptance]",
        # Schemathesis's defaults without 5xx (a failure of its own), plus two answers valid input rightly
        # gets here. A body that fits the schema may still break a rule JSON Schema cannot say (a
        # reference to a record that does not exist, an end before a start): 422 naming the field. A
        # generated `If-Match` is almost never the current version: 412. (3xx stays: a conditional GET
        # of an unchanged /docs asset is 304.) Any other refusal of valid input (400, 413, 415) fails.
        'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"]',
    ]
    if token is not None:
        lines += ["[auth.openapi.bearerAuth]", f'bearer = "{token}"']
    path = directory / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(
    app: App,
    directory: Path,
    name: str,
    operation_ids: list[str],
    token: str | None,
    args: argparse.Namespace,
    ops: list[dict],
) -> bool:
    """One schemathesis run over the given operations; True when it found nothing."""
    if not operation_ids:
        return True
    config = config_file(directory, name, token, args)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        str(OPENAPI),
        "--url",
        app.base_url,
        "--checks",
        ",".join(CHECKS),
        "--phases",
        phases(ops, operation_ids),
        "--report",
        "junit",
        "--report-dir",
        str(Path(args.report_dir) / name),
        "--no-color",
    ]
    for operation_id in operation_ids:
        command += ["--include-operation-id", operation_id]
    print(f"\n--- schemathesis as {name}: {len(operation_ids)} operations", flush=True)
    started = time.monotonic()
    try:
        # Not schemathesis's --max-time: with it, fuzzing repeats until the time is spent, and what a run
        # sends would depend on the machine's speed. The examples bound the run; this only stops a hang.
        # In the run's temporary directory: schemathesis and Hypothesis leave state in the working one.
        result = subprocess.run(command, timeout=args.run_timeout, cwd=directory)
    except subprocess.TimeoutExpired:
        print(f"--- {name}: still running after {args.run_timeout} s: stopped", flush=True)
        return False
    print(f"--- {name}: exit {result.returncode} after {time.monotonic() - started:.0f} s", flush=True)
    return result.returncode == 0


def fresh_session(app: App, programme: Programme, operation_id: str) -> tuple[str, str]:
    """A session that the session-ending operation may end: (role name, access token)."""
    if operation_id == "withdraw":
        participant = enrol(app, programme.specialist, "Kari Withdrawing")
        return "participant", participant.access_token
    # A supervisor's second login: its other sessions, and the other roles', are left alone. For a
    # password change the fuzzed new password may stick: the supervisor's runs are over by then.
    return "supervisor", login(app, "supervisor", "supervisor@contract.example").access_token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ips", type=Path, default=default_ips_binary(), help="the ips binary")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--max-examples", type=int, default=20, help="test cases per operation and phase")
    parser.add_argument("--max-steps", type=int, default=6, help="calls per stateful scenario")
    parser.add_argument("--run-timeout", type=int, default=300, help="seconds after which a run counts as hung")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--only", help="run only these runs (comma-separated names, e.g. participant,public)")
    parser.add_argument("--report-dir", default=os.path.join(tempfile.gettempdir(), "ips-schemathesis"))
    args = parser.parse_args()

    ops = operations()
    ok = True
    with App(args.ips, args.backend) as app, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        programme = seed(app)
        # Sessions for the session-ending operations, made now while every account is as seeded.
        ending = {op_id: fresh_session(app, programme, op_id) for op_id in SESSION_ENDING}
        tokens = {
            "participant": programme.participant.access_token,
            "specialist": programme.specialist.access_token,
            "supervisor": programme.supervisor.access_token,
            "admin": programme.admin.access_token,
        }

        def allowed(role: str) -> list[str]:
            return [o["id"] for o in ops if role in o["roles"] and o["id"] not in SESSION_ENDING]

        plan: list[tuple[str, list[str], str | None]] = [(r, allowed(r), tokens[r]) for r in ROLES_FIRST]
        for op_id in SESSION_ENDING:
            role, token = ending[op_id]
            plan.append((f"{op_id}-as-{role}", [op_id], token))
        plan.append(("admin", allowed("admin"), tokens["admin"]))
        plan.append(("public", [o["id"] for o in ops if o["public"]], None))

        covered = {i for _, ids, _ in plan for i in ids}
        missing = [o["key"] for o in ops if o["id"] not in covered]
        if missing:
            sys.exit(f"run_schemathesis.py: operations no run covers: {missing}")

        if args.only:
            plan = [step for step in plan if step[0] in args.only.split(",")]
        started = time.monotonic()
        failed = []
        for name, ids, token in plan:
            if not run(app, directory, name, ids, token, args, ops):
                failed.append(name)
        ok = not failed
        print(
            f"\nschemathesis: {len(plan)} runs over {len(ops)} operations in {time.monotonic() - started:.0f} s; "
            + (f"failures in: {', '.join(failed)}" if failed else "no failures"),
            flush=True,
        )
        if not ok:
            print(f"reports: {args.report_dir}; the server's log:\n{app.log_tail(60)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
