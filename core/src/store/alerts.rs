//! Alerts to a participant's specialist (docs/follow-up.md, "Alerts"): raised once per occurrence
//! of a cause, delivered through the notification outbox, seen by the caseload, acknowledged,
//! snoozed, resolved by staff, and resolved by themselves when their cause is gone.
//!
//! Whether a cause is still there is decided in one place, [`causes_present`]; the scans that raise
//! alerts are in `store::alert_scans`.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::bulk::{self, Value, ROWS_PER_STATEMENT};
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

/// Whether the cause of an alert is still there (see [`causes_present`], where the rules are).
pub fn cause_present(conn: &mut DbConnection, cause: &Cause) -> Result<bool, StoreError> {
    Ok(causes_present(conn, std::slice::from_ref(cause))?
        .first()
        .copied()
        .unwrap_or(false))
}

/// Whether the causes of these alerts are still there, in order, read in a few queries however
/// many there are (one per kind of fact). Every kind's rule is here, and only here:
///
/// - follow-up due / overdue: the plan still falls due at the alert's time and the case is open
///   (a contact or a new plan moves the due time; a pause moves it to the resume date);
/// - no employer contact: the case is open and no employer contact about the participant is logged;
/// - interview without outcome: the interview is still scheduled or confirmed and still ends when
///   it did (an outcome, a cancellation or a new time ends this occurrence);
/// - message unanswered: no staff message in the thread since the participant's message;
/// - request waiting: the request is still open;
/// - participant withdrew: never goes away by itself.
pub fn causes_present(conn: &mut DbConnection, causes: &[Cause]) -> Result<Vec<bool>, StoreError> {
    let participants_of = |kinds: &[AlertKind]| -> Vec<i64> {
        let mut ids: Vec<i64> = causes
            .iter()
            .filter(|c| kinds.contains(&c.kind))
            .map(|c| c.participant_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let subjects_of = |kind: AlertKind| -> Vec<i64> {
        let mut ids: Vec<i64> = causes
            .iter()
            .filter(|c| c.kind == kind)
            .filter_map(|c| c.subject_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let closed = ParticipantStatus::Closed.as_str();
    // Follow-up plans: participant -> (due time, case status).
    let mut plans: HashMap<i64, (Option<NaiveDateTime>, String)> = HashMap::new();
    for chunk in participants_of(&[AlertKind::FollowUpDue, AlertKind::FollowUpOverdue])
        .chunks(ROWS_PER_STATEMENT)
    {
        let rows: Vec<(i64, Option<NaiveDateTime>, String)> = follow_up_plans::table
            .inner_join(people::table)
            .filter(follow_up_plans::participant_id.eq_any(chunk))
            .select((
                follow_up_plans::participant_id,
                follow_up_plans::due_at,
                people::status,
            ))
            .load(conn)?;
        plans.extend(rows.into_iter().map(|(p, due, status)| (p, (due, status))));
    }
    // No employer contact: the open cases, and those with an employer contact logged.
    let mut open_cases = HashSet::new();
    let mut contacted = HashSet::new();
    for chunk in participants_of(&[AlertKind::NoEmployerContact]).chunks(ROWS_PER_STATEMENT) {
        let statuses: Vec<(i64, String)> = people::table
            .filter(people::id.eq_any(chunk))
            .select((people::id, people::status))
            .load(conn)?;
        open_cases.extend(
            statuses
                .into_iter()
                .filter(|(_, status)| status != closed)
                .map(|(id, _)| id),
        );
        let with_contact: Vec<Option<i64>> = contacts::table
            .filter(contacts::participant_id.eq_any(chunk))
            .filter(contacts::party.eq("employer"))
            .select(contacts::participant_id)
            .distinct()
            .load(conn)?;
        contacted.extend(with_contact.into_iter().flatten());
    }
    // Interviews: id -> (participant, status, end).
    let mut interview_rows: HashMap<i64, (i64, String, NaiveDateTime)> = HashMap::new();
    for chunk in subjects_of(AlertKind::InterviewWithoutOutcome).chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<(i64, i64, String, NaiveDateTime)> = interviews::table
            .filter(interviews::id.eq_any(chunk))
            .select((
                interviews::id,
                interviews::participant_id,
                interviews::status,
                interviews::ends_at,
            ))
            .load(conn)?;
        interview_rows.extend(rows.into_iter().map(|(id, p, s, e)| (id, (p, s, e))));
    }
    // Messages: participant -> the latest staff message in their thread.
    let mut latest_answer: HashMap<i64, i64> = HashMap::new();
    for chunk in participants_of(&[AlertKind::MessageUnanswered]).chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<(i64, Option<i64>)> = messages::table
            .filter(messages::participant_id.eq_any(chunk))
            .filter(messages::sender_kind.eq(SenderKind::Staff.as_str()))
            .group_by(messages::participant_id)
            .select((messages::participant_id, diesel::dsl::max(messages::id)))
            .load(conn)?;
        latest_answer.extend(rows.into_iter().filter_map(|(p, id)| Some((p, id?))));
    }
    // Contact requests: id -> (participant, status).
    let mut request_rows: HashMap<i64, (i64, String)> = HashMap::new();
    for chunk in subjects_of(AlertKind::RequestWaiting).chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<(i64, i64, String)> = contact_requests::table
            .filter(contact_requests::id.eq_any(chunk))
            .select((
                contact_requests::id,
                contact_requests::participant_id,
                contact_requests::status,
            ))
            .load(conn)?;
        request_rows.extend(rows.into_iter().map(|(id, p, s)| (id, (p, s))));
    }
    Ok(causes
        .iter()
        .map(|cause| {
            let pid = cause.participant_id;
            match cause.kind {
                AlertKind::FollowUpDue | AlertKind::FollowUpOverdue => {
                    matches!(plans.get(&pid), Some((Some(due), status))
                        if *due == cause.cause_at && status != closed)
                }
                AlertKind::NoEmployerContact => {
                    open_cases.contains(&pid) && !contacted.contains(&pid)
                }
                AlertKind::InterviewWithoutOutcome => {
                    matches!(cause.subject_id.and_then(|id| interview_rows.get(&id)),
                        Some((p, status, ends_at))
                        if *p == pid
                            && (status == "scheduled" || status == "confirmed")
                            && *ends_at == cause.cause_at)
                }
                AlertKind::MessageUnanswered => match cause.subject_id {
                    Some(id) => latest_answer.get(&pid).is_none_or(|answer| *answer <= id),
                    None => false,
                },
                AlertKind::RequestWaiting => {
                    matches!(cause.subject_id.and_then(|id| request_rows.get(&id)),
                        Some((p, status))
                        if *p == pid && status == ContactRequestStatus::Open.as_str())
                }
                AlertKind::ParticipantWithdrew => true,
            }
        })
        .collect())
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

/// Raises each alert unless one with its dedupe key exists, and in the same transaction puts
/// its notification in the outbox for the participant's current specialist and writes its event.
/// A few statements for the whole list (the specialists, one insert of the alerts, one of their
/// notifications, the events). Returns each new alert's id, in order, or `None` where this
/// occurrence was already raised (by this or another scanner).
pub fn raise_all(
    conn: &mut DbConnection,
    new: &[NewAlert],
    now: NaiveDateTime,
) -> Result<Vec<Option<i64>>, StoreError> {
    let mut raised = Vec::with_capacity(new.len());
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        raised.extend(raise_chunk(conn, chunk, now)?);
    }
    Ok(raised)
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    dedupe_key: String,
}

fn raise_chunk(
    conn: &mut DbConnection,
    new: &[NewAlert],
    now: NaiveDateTime,
) -> Result<Vec<Option<i64>>, StoreError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let participant_ids: Vec<i64> = new.iter().map(|n| n.cause.participant_id).collect();
    let specialists: HashMap<i64, i64> = people::table
        .filter(people::id.eq_any(&participant_ids))
        .select((people::id, people::specialist_id))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    // A participant that is gone raises nothing (a single raise used to fail on it alike).
    let with_specialist: Vec<(&NewAlert, i64)> = new
        .iter()
        .filter_map(|n| Some((n, *specialists.get(&n.cause.participant_id)?)))
        .collect();
    if with_specialist.len() < new.len() {
        return Err(StoreError::NotFound);
    }
    // Two scanners on PostgreSQL may reach the same occurrence at once: the unique key lets one
    // insert and the other see nothing new, instead of failing its whole batch.
    let sql = format!(
        "INSERT INTO alerts (participant_id, staff_id, kind, dedupe_key, subject_type, subject_id, \
         cause_at, status, raised_at, updated_at) VALUES {} \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key",
        bulk::values_rows(with_specialist.len(), 10)
    );
    let mut values = Vec::with_capacity(with_specialist.len() * 10);
    for (n, specialist) in &with_specialist {
        let cause = &n.cause;
        values.extend([
            Value::Int(cause.participant_id),
            Value::Int(*specialist),
            Value::Text(Some(cause.kind.as_str().to_owned())),
            Value::Text(Some(n.dedupe_key.clone())),
            Value::Text(cause.subject_type().map(str::to_owned)),
            Value::OptInt(cause.subject_id),
            Value::Time(Some(cause.cause_at)),
            Value::Text(Some(AlertStatus::Open.as_str().to_owned())),
            Value::Time(Some(now)),
            Value::Time(Some(now)),
        ]);
    }
    let inserted: HashMap<String, i64> = bulk::load::<Inserted>(conn, &sql, &values)?
        .into_iter()
        .map(|row| (row.dedupe_key, row.id))
        .collect();
    let ids: Vec<Option<i64>> = new
        .iter()
        .map(|n| inserted.get(&n.dedupe_key).copied())
        .collect();
    let mut deliveries = Vec::new();
    let mut events = Vec::new();
    for ((n, specialist), id) in with_specialist.iter().zip(&ids) {
        let Some(id) = *id else { continue };
        let cause = &n.cause;
        // A new alert's first delivery (see `deliver`).
        deliveries.push(delivery(id, *specialist, 1, now));
        events.push(Event::AlertRaised {
            alert_id: id,
            participant_id: cause.participant_id,
            staff_id: *specialist,
            kind: cause.kind.as_str().to_owned(),
            subject_type: cause.subject_type().map(str::to_owned),
            subject_id: cause.subject_id,
            raised_at: now,
        });
    }
    notifications::enqueue_all(conn, &deliveries, now)?;
    webhooks::emit_all(conn, &events, now)?;
    Ok(ids)
}

/// The `n`-th delivery of an alert to the participant's current specialist. The n-th delivery
/// (a snoozed alert comes back) has its own dedupe key, `alert:{id}:{n}`; the payload carries
/// ids only, the words are made when it is read or pushed.
fn delivery(alert_id: i64, specialist: i64, n: i64, now: NaiveDateTime) -> NewNotification {
    NewNotification {
        recipient: Recipient::Staff(specialist),
        kind: NOTIFICATION_KIND,
        dedupe_key: format!("alert:{alert_id}:{n}"),
        subject: Some((SUBJECT, alert_id)),
        payload: serde_json::json!({ "alert_id": alert_id }),
        due_at: now,
        expires_at: None,
    }
}

/// Puts one more delivery of an alert in the outbox, to the participant's current specialist.
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
    notifications::enqueue(conn, &delivery(alert_id, specialist, earlier + 1, now), now)?;
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
    let with_cause: Vec<(i64, Cause)> = active
        .iter()
        .filter_map(|a| Some((a.id, a.cause()?)))
        .collect();
    let causes: Vec<Cause> = with_cause.iter().map(|(_, c)| *c).collect();
    let present = causes_present(conn, &causes)?;
    let mut resolved = Vec::new();
    for ((id, _), present) in with_cause.into_iter().zip(present) {
        if !present && close(conn, id, Resolution::CauseGone, None, None, now)? {
            resolved.push(id);
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
