//! Alerts to a participant's specialist (docs/follow-up.md, "Alerts"): raised once per occurrence
//! of a cause, delivered through the notification outbox, seen by the caseload, acknowledged,
//! snoozed, resolved by staff, and resolved by themselves when their cause is gone.
//!
//! Whether a cause is still there is decided in one place, [`cause_present`]; the scans that raise
//! alerts are in `store::alert_scans`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::notifications::{self, NewNotification, Recipient};
use super::participants::{self, Caseload, Participant};
use super::{webhooks, Page, StoreError};
use crate::db::DbConnection;
use crate::domain::alerts::{AlertKind, AlertStatus, Resolution, NOTIFICATION_KIND};
use crate::domain::webhooks::Event;
use crate::domain::{ContactRequestStatus, ParticipantStatus, SenderKind};
use crate::schema::{
    alerts, contact_requests, contacts, follow_up_plans, interviews, messages,
    notifications as outbox, participants as people,
};

/// The subject type of an alert's notifications.
pub const SUBJECT: &str = "alert";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alerts)]
pub struct Alert {
    pub id: i64,
    pub participant_id: i64,
    /// Whom it was raised for (the participant's specialist at the time).
    pub staff_id: i64,
    pub kind: String,
    pub dedupe_key: String,
    pub subject_type: Option<String>,
    pub subject_id: Option<i64>,
    /// The instant that makes this occurrence (a due time, an interview's end, a message's time).
    pub cause_at: NaiveDateTime,
    pub status: String,
    pub raised_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<i64>,
    pub snoozed_until: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<i64>,
    pub resolution: Option<String>,
    pub resolution_note: Option<String>,
    pub updated_at: NaiveDateTime,
}

impl Alert {
    pub fn kind(&self) -> Option<AlertKind> {
        AlertKind::parse(&self.kind)
    }

    pub fn status(&self) -> AlertStatus {
        AlertStatus::parse(&self.status).unwrap_or(AlertStatus::Open)
    }

    /// Whether a delivery of this alert is still worth pushing: only while the alert is open
    /// (not seen, put off or resolved since it was queued).
    pub fn wants_delivery(&self) -> bool {
        self.status == AlertStatus::Open.as_str()
    }

    pub fn cause(&self) -> Option<Cause> {
        Some(Cause {
            kind: self.kind()?,
            participant_id: self.participant_id,
            subject_id: self.subject_id,
            cause_at: self.cause_at,
        })
    }
}

/// An alert with the participant it is about, as staff of the caseload see it.
#[derive(Debug, Clone)]
pub struct AlertWithParticipant {
    pub alert: Alert,
    pub participant_name: String,
}

/// One occurrence of a cause: what [`cause_present`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub kind: AlertKind,
    pub participant_id: i64,
    /// The interview, message or contact request, for the kinds that have one.
    pub subject_id: Option<i64>,
    pub cause_at: NaiveDateTime,
}

impl Cause {
    /// The subject type stored with an alert of this kind.
    pub fn subject_type(&self) -> Option<&'static str> {
        match self.kind {
            AlertKind::InterviewWithoutOutcome => Some("interview"),
            AlertKind::MessageUnanswered => Some("message"),
            AlertKind::RequestWaiting => Some("contact_request"),
            AlertKind::FollowUpDue
            | AlertKind::FollowUpOverdue
            | AlertKind::NoEmployerContact
            | AlertKind::ParticipantWithdrew => None,
        }
    }
}

/// Whether the cause of an alert is still there. Every kind's rule is here, and only here:
///
/// - follow-up due / overdue: the plan still falls due at the alert's time and the case is open
///   (a contact or a new plan moves the due time; a pause moves it to the resume date);
/// - no employer contact: the case is open and no employer contact about the participant is logged;
/// - interview without outcome: the interview is still scheduled or confirmed and still ends when
///   it did (an outcome, a cancellation or a new time ends this occurrence);
/// - message unanswered: no staff message in the thread since the participant's message;
/// - request waiting: the request is still open;
/// - participant withdrew: never goes away by itself.
pub fn cause_present(conn: &mut DbConnection, cause: &Cause) -> Result<bool, StoreError> {
    let pid = cause.participant_id;
    Ok(match cause.kind {
        AlertKind::FollowUpDue | AlertKind::FollowUpOverdue => {
            let plan: Option<(Option<NaiveDateTime>, String)> = follow_up_plans::table
                .inner_join(people::table)
                .filter(follow_up_plans::participant_id.eq(pid))
                .select((follow_up_plans::due_at, people::status))
                .first(conn)
                .optional()?;
            matches!(plan, Some((Some(due), status))
                if due == cause.cause_at && status != ParticipantStatus::Closed.as_str())
        }
        AlertKind::NoEmployerContact => {
            let open = case_open(conn, pid)?;
            let contacted: bool = diesel::select(diesel::dsl::exists(
                contacts::table
                    .filter(contacts::participant_id.eq(pid))
                    .filter(contacts::party.eq("employer")),
            ))
            .get_result(conn)?;
            open && !contacted
        }
        AlertKind::InterviewWithoutOutcome => {
            let Some(id) = cause.subject_id else {
                return Ok(false);
            };
            let interview: Option<(String, NaiveDateTime)> = interviews::table
                .filter(interviews::id.eq(id))
                .filter(interviews::participant_id.eq(pid))
                .select((interviews::status, interviews::ends_at))
                .first(conn)
                .optional()?;
            matches!(interview, Some((status, ends_at))
                if (status == "scheduled" || status == "confirmed") && ends_at == cause.cause_at)
        }
        AlertKind::MessageUnanswered => {
            let Some(id) = cause.subject_id else {
                return Ok(false);
            };
            let answered: bool = diesel::select(diesel::dsl::exists(
                messages::table
                    .filter(messages::participant_id.eq(pid))
                    .filter(messages::sender_kind.eq(SenderKind::Staff.as_str()))
                    .filter(messages::id.gt(id)),
            ))
            .get_result(conn)?;
            !answered
        }
        AlertKind::RequestWaiting => {
            let Some(id) = cause.subject_id else {
                return Ok(false);
            };
            let status: Option<String> = contact_requests::table
                .filter(contact_requests::id.eq(id))
                .filter(contact_requests::participant_id.eq(pid))
                .select(contact_requests::status)
                .first(conn)
                .optional()?;
            status.as_deref() == Some(ContactRequestStatus::Open.as_str())
        }
        AlertKind::ParticipantWithdrew => true,
    })
}

fn case_open(conn: &mut DbConnection, participant_id: i64) -> Result<bool, StoreError> {
    let status: Option<String> = people::table
        .find(participant_id)
        .select(people::status)
        .first(conn)
        .optional()?;
    Ok(status.is_some_and(|s| s != ParticipantStatus::Closed.as_str()))
}

/// An alert to raise: one occurrence of a cause, named by its dedupe key.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub cause: Cause,
    pub dedupe_key: String,
}

impl NewAlert {
    /// The alert for `cause`, keyed by what it is about and (for causes that can come back) the
    /// instant that makes the occurrence.
    pub fn new(cause: Cause) -> Self {
        use crate::domain::alerts::dedupe_key;
        let about = cause.subject_id.unwrap_or(cause.participant_id);
        let occurrence = match cause.kind {
            // These come back: a new due time, a new enrolment watch, a new interview time.
            AlertKind::FollowUpDue
            | AlertKind::FollowUpOverdue
            | AlertKind::NoEmployerContact
            | AlertKind::InterviewWithoutOutcome => Some(cause.cause_at),
            // A message, a request and a withdrawal happen once.
            AlertKind::MessageUnanswered
            | AlertKind::RequestWaiting
            | AlertKind::ParticipantWithdrew => None,
        };
        Self {
            dedupe_key: dedupe_key(cause.kind, about, occurrence),
            cause,
        }
    }
}

/// Raises the alert unless one with its dedupe key exists, and in the same transaction puts its
/// notification in the outbox for the participant's current specialist. Returns the new alert's
/// id, or `None` when this occurrence was already raised (by this or another scanner).
pub fn raise(
    conn: &mut DbConnection,
    new: &NewAlert,
    now: NaiveDateTime,
) -> Result<Option<i64>, StoreError> {
    let cause = &new.cause;
    let specialist: i64 = people::table
        .find(cause.participant_id)
        .select(people::specialist_id)
        .first(conn)?;
    let values = (
        alerts::participant_id.eq(cause.participant_id),
        alerts::staff_id.eq(specialist),
        alerts::kind.eq(cause.kind.as_str()),
        alerts::dedupe_key.eq(&new.dedupe_key),
        alerts::subject_type.eq(cause.subject_type()),
        alerts::subject_id.eq(cause.subject_id),
        alerts::cause_at.eq(cause.cause_at),
        alerts::status.eq(AlertStatus::Open.as_str()),
        alerts::raised_at.eq(now),
        alerts::updated_at.eq(now),
    );
    // Two scanners on PostgreSQL may reach the same occurrence at once: the unique key lets one
    // insert and the other see nothing new, instead of failing its whole batch.
    let id: Option<i64> = crate::per_backend!(conn, |c| diesel::insert_into(alerts::table)
        .values(values)
        .on_conflict(alerts::dedupe_key)
        .do_nothing()
        .returning(alerts::id)
        .get_result(c)
        .optional())?;
    if let Some(id) = id {
        deliver(conn, id, cause.participant_id, now)?;
        webhooks::emit(
            conn,
            &Event::AlertRaised {
                alert_id: id,
                participant_id: cause.participant_id,
                staff_id: specialist,
                kind: cause.kind.as_str().to_owned(),
                subject_type: cause.subject_type().map(str::to_owned),
                subject_id: cause.subject_id,
                raised_at: now,
            },
            now,
        )?;
    }
    Ok(id)
}

/// Puts one delivery of an alert in the outbox, to the participant's current specialist. The
/// n-th delivery (a snoozed alert comes back) has its own dedupe key, `alert:{id}:{n}`; the
/// payload carries ids only, the words are made when it is read or pushed.
fn deliver(
    conn: &mut DbConnection,
    alert_id: i64,
    participant_id: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let specialist: i64 = people::table
        .find(participant_id)
        .select(people::specialist_id)
        .first(conn)?;
    let earlier: i64 = outbox::table
        .filter(outbox::subject_type.eq(SUBJECT))
        .filter(outbox::subject_id.eq(alert_id))
        .filter(outbox::kind.eq(NOTIFICATION_KIND))
        .count()
        .get_result(conn)?;
    notifications::enqueue(
        conn,
        &NewNotification {
            recipient: Recipient::Staff(specialist),
            kind: NOTIFICATION_KIND,
            dedupe_key: format!("alert:{alert_id}:{}", earlier + 1),
            subject: Some((SUBJECT, alert_id)),
            payload: serde_json::json!({ "alert_id": alert_id }),
            due_at: now,
            expires_at: None,
        },
        now,
    )?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Alert, StoreError> {
    Ok(alerts::table
        .find(id)
        .select(Alert::as_select())
        .first(conn)?)
}

/// An alert if its participant is in `caseload`; otherwise `NotFound`, exactly like a missing one.
pub fn get_in_caseload(
    conn: &mut DbConnection,
    id: i64,
    caseload: Caseload,
) -> Result<AlertWithParticipant, StoreError> {
    let alert = get(conn, id)?;
    let participant: Participant =
        participants::get_in_caseload(conn, alert.participant_id, caseload)?;
    Ok(AlertWithParticipant {
        alert,
        participant_name: participant.display_name,
    })
}

/// What a list of alerts is narrowed to; empty lists mean any.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub statuses: Vec<AlertStatus>,
    pub kinds: Vec<AlertKind>,
    pub participant_id: Option<i64>,
    /// The participants' current specialist (a supervisor looking at one specialist's caseload).
    pub specialist_id: Option<i64>,
}

/// The alerts of a caseload, newest first.
pub fn list(
    conn: &mut DbConnection,
    caseload: Caseload,
    filter: &AlertFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<AlertWithParticipant>, StoreError> {
    // Who is visible is `Caseload::condition`, the one place the rule is written; it reads the
    // participants table, so the caseload's ids are read first (a caseload is tens of people, a
    // team hundreds) and the alerts are those of these participants.
    let mut visible_query = people::table
        .filter(caseload.condition())
        .select(people::id)
        .into_boxed();
    if let Some(specialist) = filter.specialist_id {
        visible_query = visible_query.filter(people::specialist_id.eq(specialist));
    }
    if let Some(participant) = filter.participant_id {
        visible_query = visible_query.filter(people::id.eq(participant));
    }
    let visible: Vec<i64> = visible_query.load(conn)?;
    if visible.is_empty() {
        return Ok(Page::from_rows(
            Vec::new(),
            limit,
            |a: &AlertWithParticipant| a.alert.id,
        ));
    }
    let mut query = alerts::table
        .filter(alerts::participant_id.eq_any(visible))
        .select(Alert::as_select())
        .order(alerts::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if !filter.statuses.is_empty() {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        query = query.filter(alerts::status.eq_any(statuses));
    }
    if !filter.kinds.is_empty() {
        let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.as_str()).collect();
        query = query.filter(alerts::kind.eq_any(kinds));
    }
    if let Some(after) = after {
        query = query.filter(alerts::id.lt(after));
    }
    let found: Vec<Alert> = query.load(conn)?;
    let mut ids: Vec<i64> = found.iter().map(|a| a.participant_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<i64, String> = people::table
        .filter(people::id.eq_any(ids))
        .select((people::id, people::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let rows = found
        .into_iter()
        .map(|alert| AlertWithParticipant {
            participant_name: names
                .get(&alert.participant_id)
                .cloned()
                .unwrap_or_default(),
            alert,
        })
        .collect();
    Ok(Page::from_rows(rows, limit, |a: &AlertWithParticipant| {
        a.alert.id
    }))
}

const ACTIVE: [&str; 3] = ["open", "acknowledged", "snoozed"];

fn resolved_conflict() -> StoreError {
    StoreError::Conflict("the alert is resolved".into())
}

/// Stops the alert's deliveries still in the outbox (it was seen, put off or resolved).
fn cancel_deliveries(
    conn: &mut DbConnection,
    alert_id: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    notifications::cancel_pending(conn, NOTIFICATION_KIND, (SUBJECT, alert_id), now)?;
    Ok(())
}

/// Seen, still to do. Acknowledging twice changes nothing; a snoozed alert acknowledged is
/// awake again. A resolved alert is a conflict.
pub fn acknowledge(
    conn: &mut DbConnection,
    id: i64,
    staff_id: i64,
    now: NaiveDateTime,
) -> Result<Alert, StoreError> {
    let current = get(conn, id)?;
    match current.status() {
        AlertStatus::Resolved => return Err(resolved_conflict()),
        AlertStatus::Acknowledged => return Ok(current),
        AlertStatus::Open | AlertStatus::Snoozed => {}
    }
    let changed = diesel::update(
        alerts::table
            .filter(alerts::id.eq(id))
            .filter(alerts::status.eq_any(["open", "snoozed"])),
    )
    .set((
        alerts::status.eq(AlertStatus::Acknowledged.as_str()),
        alerts::acknowledged_at.eq(now),
        alerts::acknowledged_by.eq(staff_id),
        alerts::snoozed_until.eq(None::<NaiveDateTime>),
        alerts::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::Conflict("the alert changed meanwhile".into()));
    }
    cancel_deliveries(conn, id, now)?;
    get(conn, id)
}

/// Puts the alert off until `until` (checked by the caller: in the future, bounded); it comes back
/// open, and is delivered again, at that time. Snoozing again moves the time.
pub fn snooze(
    conn: &mut DbConnection,
    id: i64,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Alert, StoreError> {
    let changed = diesel::update(
        alerts::table
            .filter(alerts::id.eq(id))
            .filter(alerts::status.eq_any(ACTIVE)),
    )
    .set((
        alerts::status.eq(AlertStatus::Snoozed.as_str()),
        alerts::snoozed_until.eq(until),
        alerts::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        get(conn, id)?;
        return Err(resolved_conflict());
    }
    cancel_deliveries(conn, id, now)?;
    get(conn, id)
}

/// Resolved by a staff member, with an optional note. Resolving twice is a conflict.
pub fn resolve_by_staff(
    conn: &mut DbConnection,
    id: i64,
    staff_id: i64,
    note: Option<String>,
    now: NaiveDateTime,
) -> Result<Alert, StoreError> {
    if !close(conn, id, Resolution::ByStaff, Some(staff_id), note, now)? {
        get(conn, id)?;
        return Err(resolved_conflict());
    }
    get(conn, id)
}

/// Resolves an active alert; false if it was already resolved (or is missing).
fn close(
    conn: &mut DbConnection,
    id: i64,
    resolution: Resolution,
    by: Option<i64>,
    note: Option<String>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        alerts::table
            .filter(alerts::id.eq(id))
            .filter(alerts::status.eq_any(ACTIVE)),
    )
    .set((
        alerts::status.eq(AlertStatus::Resolved.as_str()),
        alerts::snoozed_until.eq(None::<NaiveDateTime>),
        alerts::resolved_at.eq(now),
        alerts::resolved_by.eq(by),
        alerts::resolution.eq(resolution.as_str()),
        alerts::resolution_note.eq(note),
        alerts::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 1 {
        cancel_deliveries(conn, id, now)?;
        let alert = get(conn, id)?;
        webhooks::emit(
            conn,
            &Event::AlertResolved {
                alert_id: id,
                participant_id: alert.participant_id,
                kind: alert.kind,
                resolution: resolution.as_str().to_owned(),
                resolved_by: by,
                resolved_at: now,
            },
            now,
        )?;
    }
    Ok(changed == 1)
}

/// Resolves the alert with this dedupe key, if active, as replaced by a later one (an overdue
/// follow-up supersedes its "due" alert).
pub fn supersede(
    conn: &mut DbConnection,
    dedupe_key: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let id: Option<i64> = alerts::table
        .filter(alerts::dedupe_key.eq(dedupe_key))
        .select(alerts::id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => close(conn, id, Resolution::Superseded, None, None, now),
        None => Ok(false),
    }
}

/// Re-checks the participant's alerts that are not resolved against their causes and resolves
/// those whose cause is gone (`cause_gone`), cancelling their deliveries still in the outbox.
/// Call it in the transaction of any change that may take a cause away: a contact, a plan or
/// status change, an interview outcome, cancellation or new time, a staff answer, a handled
/// request. Returns the ids resolved.
pub fn resolve_gone_for_participant(
    conn: &mut DbConnection,
    participant_id: i64,
    now: NaiveDateTime,
) -> Result<Vec<i64>, StoreError> {
    let active: Vec<Alert> = alerts::table
        .filter(alerts::participant_id.eq(participant_id))
        .filter(alerts::status.eq_any(ACTIVE))
        .select(Alert::as_select())
        .load(conn)?;
    let mut resolved = Vec::new();
    for alert in active {
        let Some(cause) = alert.cause() else {
            continue;
        };
        if !cause_present(conn, &cause)?
            && close(conn, alert.id, Resolution::CauseGone, None, None, now)?
        {
            resolved.push(alert.id);
        }
    }
    Ok(resolved)
}

/// What became of a snoozed alert whose time had come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// Open again and delivered again.
    Delivered,
    /// Its cause went away while it slept: resolved instead.
    Resolved,
    /// Another scanner woke it first, or it was acknowledged or resolved meanwhile.
    Untouched,
}

/// A snoozed alert whose time has come: open again and delivered again, unless its cause went
/// away meanwhile (then it is resolved instead).
pub fn wake(
    conn: &mut DbConnection,
    alert: &Alert,
    now: NaiveDateTime,
) -> Result<Woken, StoreError> {
    let Some(until) = alert.snoozed_until else {
        return Ok(Woken::Untouched);
    };
    let changed = diesel::update(
        alerts::table
            .filter(alerts::id.eq(alert.id))
            .filter(alerts::status.eq(AlertStatus::Snoozed.as_str()))
            .filter(alerts::snoozed_until.eq(until)),
    )
    .set((
        alerts::status.eq(AlertStatus::Open.as_str()),
        alerts::snoozed_until.eq(None::<NaiveDateTime>),
        alerts::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(Woken::Untouched);
    }
    let present = match alert.cause() {
        Some(cause) => cause_present(conn, &cause)?,
        None => true,
    };
    if !present {
        close(conn, alert.id, Resolution::CauseGone, None, None, now)?;
        return Ok(Woken::Resolved);
    }
    deliver(conn, alert.id, alert.participant_id, now)?;
    Ok(Woken::Delivered)
}
