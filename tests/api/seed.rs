//! Seeding rows that this branch has no routes for yet (follow-up plans, status history, jobs, the
//! contact log, alerts) and rows a test needs at a chosen past time, with plain SQL that both
//! backends accept: literal values only, timestamps written `YYYY-MM-DD HH:MM:SS` (naive UTC, as
//! the store keeps them), dates `YYYY-MM-DD`, booleans `TRUE`/`FALSE`.

use chrono::{Duration, Utc};
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};

use crate::helpers::TestApp;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Runs one statement.
pub fn run(app: &TestApp, sql: &str) {
    let mut conn = app.db.get().unwrap();
    if let Err(e) = diesel::sql_query(sql).execute(&mut *conn) {
        panic!("{sql}: {e}");
    }
}

/// Runs an `INSERT ... RETURNING id` and returns the id.
fn insert(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.get().unwrap();
    let rows: Vec<Id> = diesel::sql_query(format!("{sql} RETURNING id"))
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows[0].id
}

/// Counts with a `SELECT COUNT(*) AS id ...`.
pub fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.get().unwrap();
    let rows: Vec<Id> = diesel::sql_query(sql)
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows[0].id
}

/// A SQL string literal.
fn text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn optional(value: Option<&str>) -> String {
    value.map(text).unwrap_or_else(|| "NULL".into())
}

/// Now moved by `offset`, as a timestamp literal's text (`now(Duration::days(-1))` is yesterday).
pub fn now(offset: Duration) -> String {
    (Utc::now() + offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A participant enrolled at `enrolled_at`, with their current `status`.
#[expect(
    clippy::too_many_arguments,
    reason = "one column each, named at the call"
)]
pub fn participant(
    app: &TestApp,
    team: i64,
    specialist: i64,
    name: &str,
    enrolled_at: &str,
    birth_year: Option<i32>,
    status: &str,
    closed_reason: Option<&str>,
    withdrawn_at: Option<&str>,
) -> i64 {
    let birth_year = birth_year.map_or("NULL".into(), |y| y.to_string());
    insert(
        app,
        &format!(
            "INSERT INTO participants (team_id, specialist_id, display_name, preferred_language, time_zone, \
             birth_year, status, enrolled_at, created_by, updated_at, closed_reason, withdrawn_at) \
             VALUES ({team}, {specialist}, {}, 'nb', 'Europe/Oslo', {birth_year}, {}, {}, {specialist}, {}, {}, {})",
            text(name),
            text(status),
            text(enrolled_at),
            text(enrolled_at),
            optional(closed_reason),
            optional(withdrawn_at),
        ),
    )
}

/// One row of a participant's status history.
pub fn status(
    app: &TestApp,
    participant: i64,
    from: Option<&str>,
    to: &str,
    closed_reason: Option<&str>,
    at: &str,
) {
    insert(
        app,
        &format!(
            "INSERT INTO status_changes (participant_id, from_status, to_status, closed_reason, changed_at, changed_by_kind) \
             VALUES ({participant}, {}, {}, {}, {}, 'system')",
            optional(from),
            text(to),
            optional(closed_reason),
            text(at),
        ),
    );
}

/// A participant's follow-up plan, due at `due_at` (none: closed).
pub fn plan(app: &TestApp, participant: i64, phase: &str, due_at: Option<&str>) {
    // An enrolment through the API already made a plan; this one replaces it.
    run(
        app,
        &format!("DELETE FROM follow_up_plans WHERE participant_id = {participant}"),
    );
    run(
        app,
        &format!(
            "INSERT INTO follow_up_plans (participant_id, phase, cadence_days, due_at, started_at, version, updated_at, updated_by_kind) \
             VALUES ({participant}, {}, 7, {}, {now}, 1, {now}, 'system')",
            text(phase),
            optional(due_at),
            now = text(&now(Duration::zero())),
        ),
    );
}

/// What a logged contact was: with whom, how, and whether it reached them.
#[derive(Debug, Clone, Copy)]
pub struct Contact<'a> {
    pub staff: i64,
    pub team: i64,
    pub participant: Option<i64>,
    /// `participant` or `employer`.
    pub party: &'a str,
    /// `meeting`, `phone`, `video` or `message`.
    pub channel: &'a str,
    pub reached: bool,
}

impl<'a> Contact<'a> {
    pub fn with_participant(staff: i64, team: i64, participant: i64) -> Self {
        Contact {
            staff,
            team,
            participant: Some(participant),
            party: "participant",
            channel: "meeting",
            reached: true,
        }
    }

    /// A face-to-face employer contact, about a participant or not.
    pub fn employer_meeting(staff: i64, team: i64, participant: Option<i64>) -> Self {
        Contact {
            staff,
            team,
            participant,
            party: "employer",
            channel: "meeting",
            reached: true,
        }
    }

    pub fn by(self, channel: &'a str) -> Self {
        Contact { channel, ..self }
    }

    pub fn not_reached(self) -> Self {
        Contact {
            reached: false,
            ..self
        }
    }

    pub fn at(self, app: &TestApp, at: &str) {
        let employer = (self.party == "employer").then_some("Rema 1000");
        let participant = self.participant.map_or("NULL".into(), |p| p.to_string());
        insert(
            app,
            &format!(
                "INSERT INTO contacts (staff_id, team_id, participant_id, party, channel, reached, employer, contacted_at, created_at) \
                 VALUES ({}, {}, {participant}, {}, {}, {}, {}, {}, {})",
                self.staff,
                self.team,
                text(self.party),
                text(self.channel),
                if self.reached { "TRUE" } else { "FALSE" },
                optional(employer),
                text(at),
                text(at),
            ),
        );
    }
}

/// A job from `start` (a date) to `end` if it ended.
pub fn job(
    app: &TestApp,
    participant: i64,
    recorded_by: i64,
    start: &str,
    end: Option<&str>,
    competitive: bool,
) {
    let reason = end.map(|_| "quit");
    insert(
        app,
        &format!(
            "INSERT INTO jobs (participant_id, employer, role_title, hours_per_week, competitive, start_date, end_date, \
             end_reason, recorded_by_kind, recorded_by_id, created_at, updated_at) \
             VALUES ({participant}, 'Rema 1000', 'Butikkmedarbeider', 20, {}, {}, {}, {}, 'staff', {recorded_by}, {}, {})",
            if competitive { "TRUE" } else { "FALSE" },
            text(start),
            optional(end),
            optional(reason),
            text(start),
            text(start),
        ),
    );
}

/// An alert raised for `staff` about `participant`, in `status` (`snoozed` until `snoozed_until`).
pub fn alert(
    app: &TestApp,
    participant: i64,
    staff: i64,
    kind: &str,
    status: &str,
    snoozed_until: Option<&str>,
) -> i64 {
    let raised = now(Duration::hours(-2));
    let resolved = (status == "resolved").then_some(raised.as_str());
    let resolution = (status == "resolved").then_some("by_staff");
    insert(
        app,
        &format!(
            "INSERT INTO alerts (participant_id, staff_id, kind, dedupe_key, cause_at, status, raised_at, snoozed_until, \
             resolved_at, resolution, updated_at) \
             VALUES ({participant}, {staff}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            text(kind),
            text(&format!(
                "seed:{kind}:{participant}:{:016x}",
                rand::random::<u64>()
            )),
            text(&raised),
            text(status),
            text(&raised),
            optional(snoozed_until),
            optional(resolved),
            optional(resolution),
            text(&raised),
        ),
    )
}

/// A benefits-counselling request made at `created_at`, handled at `handled_at` by `staff` if given.
pub fn benefits_request(
    app: &TestApp,
    participant: i64,
    created_at: &str,
    handled: Option<(&str, i64)>,
) {
    let (status, handled_at, by) = match handled {
        Some((at, staff)) => ("handled", Some(at), staff.to_string()),
        None => ("open", None, "NULL".into()),
    };
    insert(
        app,
        &format!(
            "INSERT INTO contact_requests (participant_id, kind, status, created_at, handled_at, handled_by_staff_id) \
             VALUES ({participant}, 'benefits_counselling', {}, {}, {}, {by})",
            text(status),
            text(created_at),
            optional(handled_at),
        ),
    );
}

/// A notification still to be sent to a staff member, about `subject`.
pub fn pending_staff_notification(
    app: &TestApp,
    staff: i64,
    kind: &str,
    subject: (&str, i64),
) -> i64 {
    let at = now(Duration::minutes(5));
    insert(
        app,
        &format!(
            "INSERT INTO notifications (recipient_kind, recipient_id, kind, dedupe_key, subject_type, subject_id, payload, \
             due_at, status, attempts, next_attempt_at, created_at, updated_at) \
             VALUES ('staff', {staff}, {}, {}, {}, {}, '{{}}', {}, 'pending', 0, {}, {}, {})",
            text(kind),
            text(&format!("seed:{kind}:{:016x}", rand::random::<u64>())),
            text(subject.0),
            subject.1,
            text(&at),
            text(&at),
            text(&at),
            text(&at),
        ),
    )
}

/// The status of one notification.
pub fn notification_status(app: &TestApp, id: i64) -> String {
    #[derive(QueryableByName)]
    struct Status {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
    }
    let mut conn = app.db.get().unwrap();
    let rows: Vec<Status> =
        diesel::sql_query(format!("SELECT status FROM notifications WHERE id = {id}"))
            .load(&mut *conn)
            .unwrap();
    rows[0].status.clone()
}
