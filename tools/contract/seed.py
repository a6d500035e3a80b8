"""A programme to test against: an admin, a team, a supervisor, a specialist and enrolled participants.

The admin is made with `ips admin create-staff` (the README's way to start); everything else goes through
the API, as an operator would do it. Each role gets a token, and the records a role's operations need an id
of (an interview, a job, a message, a contact request) exist once, so a test of `GET .../{id}` can find one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from app import App

PASSWORD = "contract test password"


@dataclass
class Role:
    """A signed-in caller: its access and refresh tokens and the id of its account."""

    name: str
    access_token: str
    refresh_token: str
    account_id: int


@dataclass
class Programme:
    team_id: int
    admin: Role
    supervisor: Role
    specialist: Role
    participant: Role
    # Records that exist, by the path parameter a test needs them for.
    ids: dict[str, int] = field(default_factory=dict)


def login(app: App, name: str, email: str) -> Role:
    tokens = app.expect(200, "POST", "/v1/auth/login", body={"email": email, "password": PASSWORD})
    me = app.expect(200, "GET", "/v1/staff/me", token=tokens["access_token"])
    return Role(name, tokens["access_token"], tokens["refresh_token"], me["id"])


def enrol(app: App, specialist: Role, display_name: str) -> Role:
    """A participant enrolled by the specialist, and the device session their app gets for the code."""
    enrolled = app.expect(
        201,
        "POST",
        "/v1/participants",
        token=specialist.access_token,
        body={"display_name": display_name, "preferred_language": "en", "time_zone": "Europe/Oslo"},
    )
    code = enrolled["enrolment_code"]["code"]
    tokens = app.expect(200, "POST", "/v1/auth/enrol", body={"code": code, "device_label": "contract"})
    return Role("participant", tokens["access_token"], tokens["refresh_token"], enrolled["participant"]["id"])


def seed(app: App) -> Programme:
    app.create_staff("admin@contract.example", "Contract Admin", "admin", PASSWORD)
    admin = login(app, "admin", "admin@contract.example")
    team = app.expect(201, "POST", "/v1/teams", token=admin.access_token, body={"name": "IPS Contract"})
    for role in ("supervisor", "specialist"):
        app.expect(
            201,
            "POST",
            "/v1/staff",
            token=admin.access_token,
            body={
                "email": f"{role}@contract.example",
                "name": f"Contract {role.title()}",
                "role": role,
                "team_id": team["id"],
                "password": PASSWORD,
            },
        )
    supervisor = login(app, "supervisor", "supervisor@contract.example")
    specialist = login(app, "specialist", "specialist@contract.example")
    participant = enrol(app, specialist, "Ola Contract")
    programme = Programme(team["id"], admin, supervisor, specialist, participant)

    # One of each record the operations address by id, made by the side that normally makes it.
    p = participant.account_id
    in_a_month = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(days=30)
    interview = app.expect(
        201,
        "POST",
        "/v1/me/interviews",
        token=participant.access_token,
        body={"employer": "Kiwi Storo", "role_title": "Lagermedarbeider", "starts_at": in_a_month.isoformat()},
    )
    job = app.expect(
        201,
        "POST",
        f"/v1/participants/{p}/jobs",
        token=specialist.access_token,
        body={"employer": "Rema 1000", "role_title": "Butikkmedarbeider", "hours_per_week": 20, "competitive": True, "start_date": "2026-01-05"},
    )
    app.expect(201, "POST", "/v1/me/messages", token=participant.access_token, body={"body": "Hei!"})
    request = app.expect(
        201, "POST", "/v1/me/contact-requests", token=participant.access_token, body={"kind": "call_me"}
    )
    programme.ids.update(
        participant=p,
        interview=interview["id"],
        job=job["id"],
        contact_request=request["id"],
        team=team["id"],
    )
    return programme
