//! The scans that raise alerts: one function per cause, each taking one batch of what is due.
//!
//! A scan costs what is due, not the size of the caseload: every cause has a column saying when
//! the scanner must next look, behind a partial index that holds only the rows still waiting
//! (migration 000009), and each query here is written so that index answers it: the index's own
//! condition appears in the query word for word, the due column is compared to `now` and orders
//! the batch. Handling a row takes it out of its index (the check column is moved or cleared, or
//! the "alerted" column is set) in the same transaction as the alert is raised.
//!
//! Several scanners may run at once. On PostgreSQL each batch is selected `FOR UPDATE SKIP
//! LOCKED`, so two scanners take different rows; on SQLite write transactions take turns. Either
//! way each row is claimed by a conditional update (it only matches the row as it was read), and
//! the alert's dedupe key is unique, so an occurrence is raised once.
//!
//! Each cause's batch goes through one function, `raise_claimed`: the cause's own claim runs per
//! row (a conditional update), then the claimed causes are re-checked and raised together, a few
//! statements for the whole batch rather than about ten per alert.
//!
//! Every function runs inside the caller's write transaction and returns what it did.

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamp};

use super::alerts::{self, Alert, Cause, NewAlert, Woken};
use super::StoreError;
use crate::db::DbConnection;
use crate::domain::alerts::AlertKind;
use crate::schema::{
    alerts as alert_rows, contact_requests, follow_up_plans, interviews, messages, participants,
};

/// What one batch did. `taken` counts the rows read from the index: a batch that took fewer rows
/// than it asked for has emptied it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub taken: usize,
    pub raised: usize,
    /// Alerts resolved along the way (superseded, or found without a cause).
    pub resolved: usize,
}

/// Takes a batch of due rows: claims each with `claim` (a conditional update that matches the
/// row only as it was read, plus whatever else the cause needs first; it returns the cause to
/// raise, or `None` when another scanner took the row first or there is nothing to raise), then
/// raises the claimed causes together. Their causes are re-checked where every kind's rule is
/// written (`alerts::causes_present`), so a check column left behind by a change never raises a
/// wrong alert; the alerts, their notifications and events are written in a few statements for
/// the whole batch.
fn raise_claimed<R>(
    conn: &mut DbConnection,
    rows: Vec<R>,
    now: NaiveDateTime,
    mut claim: impl FnMut(&mut DbConnection, R, &mut Batch) -> Result<Option<Cause>, StoreError>,
) -> Result<Batch, StoreError> {
    let mut batch = Batch {
        taken: rows.len(),
        ..Batch::default()
    };
    let mut causes = Vec::new();
    for row in rows {
        causes.extend(claim(conn, row, &mut batch)?);
    }
    let present = alerts::causes_present(conn, &causes)?;
    let new: Vec<NewAlert> = causes
        .into_iter()
        .zip(present)
        .filter(|(_, present)| *present)
        .map(|(cause, _)| NewAlert::new(cause))
        .collect();
    batch.raised += alerts::raise_all(conn, &new, now)?.iter().flatten().count();
    Ok(batch)
}

/// Loads a batch, locking its rows on PostgreSQL so that concurrent scanners skip them.
macro_rules! load_batch {
    ($conn:expr, $query:expr, $row:ty) => {
        match $conn {
            DbConnection::Postgresql(pg) => $query.for_update().skip_locked().load::<$row>(pg)?,
            DbConnection::Sqlite(lite) => $query.load::<$row>(lite)?,
        }
    };
}

/// The conditions of the partial indexes (migration 000009), repeated word for word: a planner
/// uses a partial index only for a query whose condition implies the index's.
const INTERVIEW_WAITING: &str =
    "status IN ('scheduled', 'confirmed') AND outcome_alerted_at IS NULL";
const REQUEST_WAITING: &str = "status = 'open' AND alerted_at IS NULL";
const WITHDRAWAL_WAITING: &str = "withdrawn_at IS NOT NULL AND withdrawal_alerted_at IS NULL";
const SNOOZED: &str = "status = 'snoozed'";

const STAGE_DUE: &str = "due";
const STAGE_OVERDUE: &str = "overdue";

/// Follow-up plans whose check time has come (`follow_up_check_at`). At the `due` stage (the
/// lead time before `due_at`) the "due" alert is raised and the check moves to `due_at` with the
/// stage `overdue`; if `due_at` has already passed, the "overdue" alert is raised at once. At the
/// `overdue` stage the "overdue" alert is raised, the "due" one is resolved as superseded, and the
/// check is cleared. The plans' own code sets the check again whenever `due_at` changes.
pub fn follow_ups(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Batch, StoreError> {
    type Row = (
        i64,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let rows = load_batch!(
        conn,
        follow_up_plans::table
            .filter(follow_up_plans::follow_up_check_at.is_not_null())
            .filter(follow_up_plans::follow_up_check_at.le(now))
            .order(follow_up_plans::follow_up_check_at)
            .limit(limit)
            .select((
                follow_up_plans::participant_id,
                follow_up_plans::due_at,
                follow_up_plans::follow_up_check_at,
                follow_up_plans::follow_up_check_stage,
            )),
        Row
    );
    raise_claimed(conn, rows, now, |conn, row, batch| {
        let (participant_id, due_at, check_at, stage) = row;
        let (next_check, next_stage, kind) = match (stage.as_deref(), due_at) {
            (Some(STAGE_DUE), Some(due)) if due > now => {
                (Some(due), Some(STAGE_OVERDUE), Some(AlertKind::FollowUpDue))
            }
            (Some(STAGE_DUE | STAGE_OVERDUE), Some(_)) => {
                (None, None, Some(AlertKind::FollowUpOverdue))
            }
            // No due time (a closed case) or an unknown stage: nothing to raise, stop looking.
            _ => (None, None, None),
        };
        let claimed = diesel::update(
            follow_up_plans::table
                .filter(follow_up_plans::participant_id.eq(participant_id))
                .filter(follow_up_plans::follow_up_check_at.eq(check_at))
                .filter(follow_up_plans::follow_up_check_stage.eq(stage.as_deref())),
        )
        .set((
            follow_up_plans::follow_up_check_at.eq(next_check),
            follow_up_plans::follow_up_check_stage.eq(next_stage),
        ))
        .execute(conn)?;
        let (Some(kind), Some(due), 1) = (kind, due_at, claimed) else {
            return Ok(None);
        };
        // Alerts of an earlier due time (the plan moved) go before the new one comes.
        batch.resolved += alerts::resolve_gone_for_participant(conn, participant_id, now)?.len();
        let cause = Cause {
            kind,
            participant_id,
            subject_id: None,
            cause_at: due,
        };
        if kind == AlertKind::FollowUpOverdue {
            // The overdue alert replaces this due time's "due" alert.
            let due_key = NewAlert::new(Cause {
                kind: AlertKind::FollowUpDue,
                ..cause
            })
            .dedupe_key;
            if alerts::supersede(conn, &due_key, now)? {
                batch.resolved += 1;
            }
        }
        Ok(Some(cause))
    })
}

/// Plans whose "no employer contact yet" watch has come (`employer_check_at`, enrolment plus
/// the configured days): the alert is raised unless an employer contact about the participant
/// was logged, and the watch ends either way.
pub fn employer_contacts(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Batch, StoreError> {
    let rows = load_batch!(
        conn,
        follow_up_plans::table
            .filter(follow_up_plans::employer_check_at.is_not_null())
            .filter(follow_up_plans::employer_check_at.le(now))
            .order(follow_up_plans::employer_check_at)
            .limit(limit)
            .select((
                follow_up_plans::participant_id,
                follow_up_plans::employer_check_at
            )),
        (i64, Option<NaiveDateTime>)
    );
    raise_claimed(conn, rows, now, |conn, (participant_id, check_at), _| {
        let Some(at) = check_at else { return Ok(None) };
        let claimed = diesel::update(
            follow_up_plans::table
                .filter(follow_up_plans::participant_id.eq(participant_id))
                .filter(follow_up_plans::employer_check_at.eq(at)),
        )
        .set(follow_up_plans::employer_check_at.eq(None::<NaiveDateTime>))
        .execute(conn)?;
        Ok((claimed == 1).then_some(Cause {
            kind: AlertKind::NoEmployerContact,
            participant_id,
            subject_id: None,
            cause_at: at,
        }))
    })
}

/// Interviews that ended `grace` ago or more, still scheduled or confirmed (no outcome), not yet
/// alerted. Moving an interview clears `outcome_alerted_at`, so a new time is a new occurrence.
pub fn interviews_without_outcome(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    grace: Duration,
    limit: i64,
) -> Result<Batch, StoreError> {
    let rows = load_batch!(
        conn,
        interviews::table
            .filter(sql::<Bool>(INTERVIEW_WAITING))
            .filter(interviews::ends_at.le(now - grace))
            .order(interviews::ends_at)
            .limit(limit)
            .select((
                interviews::id,
                interviews::participant_id,
                interviews::ends_at
            )),
        (i64, i64, NaiveDateTime)
    );
    raise_claimed(conn, rows, now, |conn, (id, participant_id, ends_at), _| {
        let claimed = diesel::update(
            interviews::table
                .filter(interviews::id.eq(id))
                .filter(interviews::outcome_alerted_at.is_null()),
        )
        .set(interviews::outcome_alerted_at.eq(now))
        .execute(conn)?;
        Ok((claimed == 1).then_some(Cause {
            kind: AlertKind::InterviewWithoutOutcome,
            participant_id,
            subject_id: Some(id),
            cause_at: ends_at,
        }))
    })
}

/// Participants' messages whose answer deadline (`answer_due_at`, in working hours) has passed
/// with no staff answer; the deadline is cleared either way.
pub fn unanswered_messages(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Batch, StoreError> {
    let rows = load_batch!(
        conn,
        messages::table
            .filter(messages::answer_due_at.is_not_null())
            .filter(messages::answer_due_at.le(now))
            .order(messages::answer_due_at)
            .limit(limit)
            .select((
                messages::id,
                messages::participant_id,
                messages::created_at,
                messages::answer_due_at
            )),
        (i64, i64, NaiveDateTime, Option<NaiveDateTime>)
    );
    raise_claimed(
        conn,
        rows,
        now,
        |conn, (id, participant_id, created_at, due), _| {
            let claimed = diesel::update(
                messages::table
                    .filter(messages::id.eq(id))
                    .filter(messages::answer_due_at.eq(due)),
            )
            .set(messages::answer_due_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
            Ok((claimed == 1).then_some(Cause {
                kind: AlertKind::MessageUnanswered,
                participant_id,
                subject_id: Some(id),
                cause_at: created_at,
            }))
        },
    )
}

#[derive(QueryableByName)]
struct RequestRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    participant_id: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

/// Call-me and benefits-counselling requests open for `waiting` or longer, not yet alerted.
pub fn waiting_requests(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    waiting: Duration,
    limit: i64,
) -> Result<Batch, StoreError> {
    let cutoff = now - waiting;
    let rows: Vec<(i64, i64, NaiveDateTime)> = match conn {
        DbConnection::Postgresql(pg) => contact_requests::table
            .filter(sql::<Bool>(REQUEST_WAITING))
            .filter(contact_requests::created_at.le(cutoff))
            .order(contact_requests::created_at)
            .limit(limit)
            .select((
                contact_requests::id,
                contact_requests::participant_id,
                contact_requests::created_at,
            ))
            .for_update()
            .skip_locked()
            .load(pg)?,
        // SQLite would rather walk the older (status, created_at) index, which also holds every
        // open request already alerted; naming the partial index keeps the cost to what is due.
        DbConnection::Sqlite(lite) => diesel::sql_query(format!(
            "SELECT id, participant_id, created_at FROM contact_requests \
             INDEXED BY contact_requests_alert_check_idx \
             WHERE {REQUEST_WAITING} AND created_at <= ? ORDER BY created_at LIMIT ?"
        ))
        .bind::<Timestamp, _>(cutoff)
        .bind::<BigInt, _>(limit)
        .load::<RequestRow>(lite)?
        .into_iter()
        .map(|r| (r.id, r.participant_id, r.created_at))
        .collect(),
    };
    raise_claimed(
        conn,
        rows,
        now,
        |conn, (id, participant_id, created_at), _| {
            let claimed = diesel::update(
                contact_requests::table
                    .filter(contact_requests::id.eq(id))
                    .filter(contact_requests::alerted_at.is_null()),
            )
            .set(contact_requests::alerted_at.eq(now))
            .execute(conn)?;
            Ok((claimed == 1).then_some(Cause {
                kind: AlertKind::RequestWaiting,
                participant_id,
                subject_id: Some(id),
                cause_at: created_at,
            }))
        },
    )
}

/// Participants who withdrew, not yet alerted. Their case is closed, so their other alerts whose
/// cause was the open case (follow-up, employer contact) are resolved here too.
pub fn withdrawals(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Batch, StoreError> {
    let rows = load_batch!(
        conn,
        participants::table
            .filter(sql::<Bool>(WITHDRAWAL_WAITING))
            .filter(participants::withdrawn_at.le(now))
            .order(participants::withdrawn_at)
            .limit(limit)
            .select((participants::id, participants::withdrawn_at)),
        (i64, Option<NaiveDateTime>)
    );
    raise_claimed(
        conn,
        rows,
        now,
        |conn, (participant_id, withdrawn_at), batch| {
            let Some(at) = withdrawn_at else {
                return Ok(None);
            };
            let claimed = diesel::update(
                participants::table
                    .filter(participants::id.eq(participant_id))
                    .filter(participants::withdrawal_alerted_at.is_null()),
            )
            .set(participants::withdrawal_alerted_at.eq(now))
            .execute(conn)?;
            if claimed != 1 {
                return Ok(None);
            }
            batch.resolved +=
                alerts::resolve_gone_for_participant(conn, participant_id, now)?.len();
            Ok(Some(Cause {
                kind: AlertKind::ParticipantWithdrew,
                participant_id,
                subject_id: None,
                cause_at: at,
            }))
        },
    )
}

/// Snoozed alerts whose time is up: open again and delivered again (or resolved, if their cause
/// went away while they slept). `raised` counts the deliveries.
pub fn snoozed(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Batch, StoreError> {
    let rows = load_batch!(
        conn,
        alert_rows::table
            .filter(sql::<Bool>(SNOOZED))
            .filter(alert_rows::snoozed_until.le(now))
            .order(alert_rows::snoozed_until)
            .limit(limit)
            .select(Alert::as_select()),
        Alert
    );
    let mut batch = Batch {
        taken: rows.len(),
        ..Batch::default()
    };
    for alert in rows {
        match alerts::wake(conn, &alert, now)? {
            Woken::Delivered => batch.raised += 1,
            Woken::Resolved => batch.resolved += 1,
            Woken::Untouched => {}
        }
    }
    Ok(batch)
}
