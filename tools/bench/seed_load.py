#!/usr/bin/env python3
"""Seeds a migrated, empty database for the API load benchmark (tools/bench/load.sh).

Writes SQL on stdout for `psql` or `sqlite3` (one dialect-neutral script, explicit ids, one
transaction) and the access tokens of a sample of participants to --tokens, one a line.
Only the tokens' SHA-256 hashes go into the database, as the product stores them.

The shape follows a real programme: teams of about ten specialists, each specialist with
about twenty participants; every participant has a device session with a push device,
a few interviews (one past and completed, two ahead) and saved job preferences.
"""

import argparse
import base64
import datetime as dt
import hashlib
import json
import random
import secrets
import sys

CASELOAD = 20
SPECIALISTS_PER_TEAM = 10
CHUNK = 500


def token(prefix):
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def ts(moment):
    return "'" + moment.strftime("%Y-%m-%d %H:%M:%S") + "'"


def q(text):
    if text is None:
        return "NULL"
    return "'" + str(text).replace("'", "''") + "'"


def insert(out, table, columns, rows):
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        out.write(f"INSERT INTO {table} ({', '.join(columns)}) VALUES\n")
        out.write(",\n".join("(" + ", ".join(row) + ")" for row in chunk))
        out.write(";\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=["postgres", "sqlite"], required=True)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=1_000, help="participants whose tokens are written")
    parser.add_argument("--tokens", required=True, help="file for the sample's access tokens")
    args = parser.parse_args()

    rng = random.Random(7)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    specialists = max(1, -(-args.participants // CASELOAD))
    teams = max(1, -(-specialists // SPECIALISTS_PER_TEAM))
    out = sys.stdout
    out.write("BEGIN;\n")

    insert(
        out,
        "teams",
        ["id", "name", "created_at", "updated_at"],
        [[str(t), q(f"IPS team {t}"), ts(now), ts(now)] for t in range(1, teams + 1)],
    )
    # Never used to log in: the benchmark's callers are participants with seeded sessions.
    password = q("$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNlZWRzZWVk$bm90LWEtcmVhbC1wYXNzd29yZC1oYXNo")
    staff_rows = []
    for s in range(1, specialists + 1):
        team = (s - 1) // SPECIALISTS_PER_TEAM + 1
        staff_rows.append(
            [str(s), q(f"specialist{s}@load.invalid"), q(f"Specialist {s}"), q("specialist"),
             str(team), password, "TRUE", ts(now), ts(now)]
        )
    insert(
        out,
        "staff",
        ["id", "email", "name", "role", "team_id", "password_hash", "active", "created_at", "updated_at"],
        staff_rows,
    )

    participants, sessions, devices, interviews, preferences = [], [], [], [], []
    sample = set(rng.sample(range(1, args.participants + 1), min(args.sample, args.participants)))
    tokens = []
    interview_id = 0
    for p in range(1, args.participants + 1):
        specialist = (p - 1) // CASELOAD + 1
        team = (specialist - 1) // SPECIALISTS_PER_TEAM + 1
        enrolled = now - dt.timedelta(days=rng.randint(10, 400))
        participants.append(
            [str(p), str(team), str(specialist), q(f"Participant {p}"), q(rng.choice(["nb", "en"])),
             q("Europe/Oslo"), q("job_seeking"), ts(enrolled), str(specialist), ts(enrolled)]
        )
        access, refresh = token("ipsa_"), token("ipsr_")
        if p in sample:
            tokens.append(access)
        sessions.append(
            [str(p), str(p), q("Pixel 8"), ts(enrolled), ts(now), q(sha256(access)),
             ts(now + dt.timedelta(days=1)), q(sha256(refresh)), ts(now + dt.timedelta(days=180))]
        )
        devices.append(
            [str(p), str(p), str(p), q("fcm"), q(f"fcm-load-{p}"), q("1.4.0"), q("nb"), "TRUE",
             ts(enrolled), ts(enrolled), ts(now)]
        )
        # One behind them, two ahead: what a participant in job search typically has.
        for offset_days, status in ((-rng.randint(3, 60), "completed"), (rng.randint(2, 20), "scheduled"),
                                    (rng.randint(21, 60), "confirmed")):
            interview_id += 1
            starts = (now + dt.timedelta(days=offset_days)).replace(minute=0, second=0)
            interviews.append(
                [str(interview_id), str(p), q(rng.choice(["Rema 1000", "Kiwi", "Posten", "Oslo kommune"])),
                 q(rng.choice(["Butikkmedarbeider", "Lagermedarbeider", "Barista"])), ts(starts),
                 ts(starts + dt.timedelta(hours=1)), q("Europe/Oslo"), q("Storgata 1, Oslo"), "FALSE",
                 q("[]"), q(status), str(1 if status == "confirmed" else 0), q("staff"), str(specialist),
                 ts(enrolled), ts(enrolled)]
            )
        preferences.append(
            [str(p), q("work"), q(json.dumps(["Barista"])), q(json.dumps(["Hospitality"])),
             q(json.dumps(["Coffee"])), q(json.dumps(["Customer service"])), q(json.dumps(["daytime"])),
             q(json.dumps(["Oslo sentrum"])), q("[]"), "1", ts(enrolled), q("participant"), str(p)]
        )
    insert(
        out,
        "participants",
        ["id", "team_id", "specialist_id", "display_name", "preferred_language", "time_zone", "status",
         "enrolled_at", "created_by", "updated_at"],
        participants,
    )
    insert(
        out,
        "sessions",
        ["id", "participant_id", "device_label", "created_at", "last_used_at", "access_token_hash",
         "access_expires_at", "refresh_token_hash", "refresh_expires_at"],
        sessions,
    )
    insert(
        out,
        "devices",
        ["id", "participant_id", "session_id", "platform", "token", "app_version", "locale", "enabled",
         "created_at", "updated_at", "last_registered_at"],
        devices,
    )
    insert(
        out,
        "interviews",
        ["id", "participant_id", "employer", "role_title", "starts_at", "ends_at", "time_zone", "address",
         "specialist_attends", "checklist", "status", "sequence", "created_by_kind", "created_by_id",
         "created_at", "updated_at"],
        interviews,
    )
    insert(
        out,
        "job_preferences",
        ["participant_id", "goal", "desired_roles", "industries", "interests", "skills", "preferred_times",
         "locations", "avoid", "version", "updated_at", "updated_by_kind", "updated_by_id"],
        preferences,
    )
    out.write("COMMIT;\n")
    if args.dialect == "postgres":
        # Explicit ids leave the identity sequences behind; new rows must continue after them.
        for table in ("teams", "staff", "participants", "sessions", "devices", "interviews"):
            out.write(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}));\n")
    out.write("ANALYZE;\n")
    with open(args.tokens, "w") as f:
        f.write("\n".join(tokens) + "\n")


if __name__ == "__main__":
    main()
