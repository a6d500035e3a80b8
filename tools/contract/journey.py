#!/usr/bin/env python3
"""A participant's journey, driven through a client generated from openapi.yaml and nothing else.

What a third-party developer would do with the published contract: generate a client with an ordinary
generator (openapi-python-client) and call the API through its functions and models only. If the file
describes something the API does not do, or in a way the generator cannot follow, this fails.

    python3 journey.py --base-url URL --admin-email E --admin-password P

`ips_client` (the generated package) must be importable; run_journey.py generates it and runs this.
The admin account must exist (`ips admin create-staff`); everything else is made here through the API.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import uuid
from http import HTTPStatus
from typing import TypeVar

from ips_client import AuthenticatedClient, Client
from ips_client.api.auth import enrol_device, login
from ips_client.api.job_preferences import (
    get_my_job_preferences,
    get_participant_job_preferences,
    replace_my_job_preferences,
)
from ips_client.api.me import (
    create_my_interview,
    get_me,
    get_my_interview,
    get_my_team,
    list_my_interviews,
    list_my_messages,
    send_my_message,
)
from ips_client.api.messages import list_participant_messages, send_participant_message
from ips_client.api.participants import enrol_participant, list_participant_interviews
from ips_client.api.staff import create_staff
from ips_client.api.teams import create_team
from ips_client.models import (
    EnrolledParticipant,
    EnrolRequest,
    Interview,
    InterviewPage,
    JobPreferences,
    JobPreferencesDocument,
    LoginRequest,
    Message,
    MessagePage,
    NewInterview,
    NewMessage,
    NewParticipant,
    NewStaff,
    NewTeam,
    Participant,
    PreferredTime,
    Problem,
    Role,
    StaffMember,
    Team,
    Token,
)
from ips_client.types import Response

T = TypeVar("T")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)
    print(f"  ok: {what}")


def answer(response: Response[T | Problem], status: HTTPStatus, model: type[T]) -> T:
    """The parsed body of an answer that must have this status and model; anything else stops the journey."""
    if response.status_code != status or not isinstance(response.parsed, model):
        raise AssertionError(
            f"expected {status.value} {model.__name__}, got {response.status_code.value}: "
            f"{response.content.decode(errors='replace')[:500]}"
        )
    return response.parsed


def staff_session(base_url: str, email: str, password: str) -> AuthenticatedClient:
    public = Client(base_url=base_url)
    token = answer(
        login.sync_detailed(client=public, body=LoginRequest(email=email, password=password)), HTTPStatus.OK, Token
    )
    return AuthenticatedClient(base_url=base_url, token=token.access_token)


def journey(base_url: str, admin_email: str, admin_password: str) -> None:
    run = uuid.uuid4().hex[:8]

    print("an administrator sets up a team and its specialist")
    admin = staff_session(base_url, admin_email, admin_password)
    team = answer(create_team.sync_detailed(client=admin, body=NewTeam(name=f"IPS Journey {run}")), HTTPStatus.CREATED, Team)
    specialist_email = f"kari.{run}@example.no"
    specialist_password = "a long journey password"
    kari = answer(
        create_staff.sync_detailed(
            client=admin,
            body=NewStaff(
                email=specialist_email,
                name="Kari Nordmann",
                role=Role.SPECIALIST,
                team_id=team.id,
                password=specialist_password,
                phone="+47 900 00 000",
            ),
        ),
        HTTPStatus.CREATED,
        StaffMember,
    )

    print("the specialist logs in and enrols a participant")
    specialist = staff_session(base_url, specialist_email, specialist_password)
    enrolled = answer(
        enrol_participant.sync_detailed(
            client=specialist, body=NewParticipant(display_name="Ola", time_zone="Europe/Oslo")
        ),
        HTTPStatus.CREATED,
        EnrolledParticipant,
    )
    participant_id = enrolled.participant.id
    check(enrolled.participant.specialist_id == kari.id, "the participant is in Kari's caseload")

    print("the app exchanges the enrolment code for a device session")
    device = answer(
        enrol_device.sync_detailed(
            client=Client(base_url=base_url),
            body=EnrolRequest(code=enrolled.enrolment_code.code, device_label="Ola's phone"),
        ),
        HTTPStatus.OK,
        Token,
    )
    app = AuthenticatedClient(base_url=base_url, token=device.access_token)
    me = answer(get_me.sync_detailed(client=app), HTTPStatus.OK, Participant)
    check(me.id == participant_id and me.display_name == "Ola", "the app is signed in as Ola")

    print("the participant sets their job preferences, with If-Match from the ETag")
    read = get_my_job_preferences.sync_detailed(client=app)
    before = answer(read, HTTPStatus.OK, JobPreferences)
    etag = read.headers["etag"]
    check(etag == f'"{before.version}"', f"the ETag is the version ({etag})")
    wanted = JobPreferencesDocument(
        desired_roles=["Barista", "Lagermedarbeider"],
        interests=["Coffee"],
        hours_per_week_min=10,
        hours_per_week_max=20,
        preferred_times=[PreferredTime.MORNING],
        locations=["Oslo sentrum"],
    )
    saved_response = replace_my_job_preferences.sync_detailed(client=app, body=wanted, if_match=etag)
    saved = answer(saved_response, HTTPStatus.OK, JobPreferences)
    check(saved.version == before.version + 1, "the save made a new version")
    check(saved_response.headers["etag"] == f'"{saved.version}"', "the answer's ETag is the new version")
    stale = replace_my_job_preferences.sync_detailed(client=app, body=wanted, if_match=etag)
    check(
        stale.status_code == HTTPStatus.PRECONDITION_FAILED and isinstance(stale.parsed, Problem),
        "a save from the old version is 412",
    )

    print("the participant adds an interview")
    starts_at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    created = answer(
        create_my_interview.sync_detailed(
            client=app,
            body=NewInterview(
                employer="Kiwi Storo", role_title="Lagermedarbeider", starts_at=starts_at, duration_minutes=45
            ),
            idempotency_key=f"journey-{run}",
        ),
        HTTPStatus.CREATED,
        Interview,
    )
    check(created.starts_at == starts_at and created.duration_minutes == 45, "the interview is as recorded")

    print("the participant reads their specialist's contact card")
    card = get_my_team.sync_detailed(client=app).parsed
    check(
        card is not None and not isinstance(card, Problem) and card.specialist.id == kari.id,
        "GET /v1/me/team names Kari",
    )
    check(card.team.id == team.id and card.specialist.phone == "+47 900 00 000", "with her team and phone")

    print("the participant sends a message, and the specialist answers")
    sent = answer(
        send_my_message.sync_detailed(client=app, body=NewMessage(body="Hei! Kan vi snakke om intervjuet?")),
        HTTPStatus.CREATED,
        Message,
    )
    reply = answer(
        send_participant_message.sync_detailed(
            participant_id, client=specialist, body=NewMessage(body="Ja, jeg ringer deg i morgen.")
        ),
        HTTPStatus.CREATED,
        Message,
    )

    print("both sides read it all back")
    mine = answer(get_my_job_preferences.sync_detailed(client=app), HTTPStatus.OK, JobPreferences)
    check(mine.desired_roles == ["Barista", "Lagermedarbeider"] and mine.version == saved.version, "preferences")
    theirs = answer(
        get_participant_job_preferences.sync_detailed(participant_id, client=specialist), HTTPStatus.OK, JobPreferences
    )
    check(theirs.locations == ["Oslo sentrum"], "the specialist sees the same preferences")
    again = answer(get_my_interview.sync_detailed(created.id, client=app), HTTPStatus.OK, Interview)
    check(again.employer == "Kiwi Storo", "the interview by id")
    listed = answer(list_my_interviews.sync_detailed(client=app), HTTPStatus.OK, InterviewPage)
    check([i.id for i in listed.items] == [created.id], "the participant's interview list")
    staff_listed = answer(
        list_participant_interviews.sync_detailed(participant_id, client=specialist), HTTPStatus.OK, InterviewPage
    )
    check([i.id for i in staff_listed.items] == [created.id], "the specialist's list of their interviews")
    thread = answer(list_my_messages.sync_detailed(client=app), HTTPStatus.OK, MessagePage)
    check([m.id for m in thread.items] == [reply.id, sent.id], "the participant's thread, newest first")
    staff_thread = answer(
        list_participant_messages.sync_detailed(participant_id, client=specialist), HTTPStatus.OK, MessagePage
    )
    check([m.body for m in staff_thread.items][-1] == sent.body, "the specialist reads the participant's message")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    args = parser.parse_args()
    journey(args.base_url, args.admin_email, args.admin_password)
    print("the journey went through")
    return 0


if __name__ == "__main__":
    sys.exit(main())
