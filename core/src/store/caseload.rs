//! The caseload view: a specialist's participants (a supervisor's: the team's), each with what
//! makes them urgent, sorted by `domain::caseload::Urgency`; and the team's specialists at a glance.
//!
//! A view costs a handful of queries over the caller's caseload (participants with their plans,
//! open alerts, upcoming interviews, last contacts), never one per participant. A caseload is
//! 20-40 people and a team a few hundred, so the facts are gathered whole, then filtered, sorted
//! and cut in memory.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::{max, min};
use diesel::prelude::*;

use super::participants::Caseload;
use super::StoreError;
use crate::db::{DbConnection, MultiBackend};
use crate::domain::caseload::{
    alert_is_open, alert_rank, is_overdue, is_overdue_kind, within_caseload_target, Urgency,
};
use crate::domain::Role;
use crate::schema::{alerts, contacts, follow_up_plans, interviews, participants, staff};

/// Which cases by status: the open ones (the default), every one, or one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    All,
    Only(String),
}

/// The caseload and the filters of one view.
#[derive(Debug, Clone)]
pub struct Query {
    pub caseload: Caseload,
    pub specialist_id: Option<i64>,
    pub status: StatusFilter,
    pub phase: Option<String>,
    pub has_open_alerts: Option<bool>,
    pub overdue: Option<bool>,
    pub limit: usize,
}

/// One participant on the caseload.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub display_name: String,
    pub status: String,
    pub specialist_id: i64,
    pub specialist_name: String,
    pub phase: Option<String>,
    pub due_at: Option<NaiveDateTime>,
    pub overdue: bool,
    pub open_alerts: i64,
    pub most_urgent_alert: Option<String>,
    pub next_interview_at: Option<NaiveDateTime>,
    pub last_contact_at: Option<NaiveDateTime>,
}

impl Row {
    fn urgency(&self) -> Urgency {
        Urgency {
            overdue_alert: self
                .most_urgent_alert
                .as_deref()
                .is_some_and(is_overdue_kind),
            open_alert: self.open_alerts > 0,
            overdue_follow_up: self.overdue,
            next_interview_at: self.next_interview_at,
            due_at: self.due_at,
            id: self.id,
        }
    }
}

/// The most urgent rows of a view, and how many matched in all.
#[derive(Debug, Clone)]
pub struct View {
    pub rows: Vec<Row>,
    pub total: usize,
}

/// Narrows a query over `participants` (alone or joined) to the view's caseload and statuses.
macro_rules! in_view {
    ($query:expr, $view:expr) => {{
        let mut q = $query.into_boxed::<MultiBackend>();
        q = match $view.caseload {
            Caseload::OfSpecialist(id) => q.filter(participants::specialist_id.eq(id)),
            Caseload::OfTeam(team) => q.filter(participants::team_id.eq(team)),
            Caseload::Nobody => q.filter(participants::id.lt(0)),
        };
        if let Some(specialist) = $view.specialist_id {
            q = q.filter(participants::specialist_id.eq(specialist));
        }
        match &$view.status {
            StatusFilter::Open => q.filter(participants::status.ne("closed")),
            StatusFilter::All => q,
            StatusFilter::Only(status) => q.filter(participants::status.eq(status.clone())),
        }
    }};
}

/// A participant as the first query reads them: id, name, status, specialist (id, name), and the
/// plan's phase and due time.
type PersonFacts = (
    i64,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<NaiveDateTime>,
);

/// The open alerts of a participant: how many, and the most urgent kind.
#[derive(Debug, Default)]
struct OpenAlerts {
    count: i64,
    most_urgent: Option<String>,
}

pub fn view(
    conn: &mut DbConnection,
    query: &Query,
    now: NaiveDateTime,
) -> Result<View, StoreError> {
    let people: Vec<PersonFacts> = in_view!(
        participants::table
            .inner_join(staff::table)
            .left_join(follow_up_plans::table)
            .select((
                participants::id,
                participants::display_name,
                participants::status,
                participants::specialist_id,
                staff::name,
                follow_up_plans::phase.nullable(),
                follow_up_plans::due_at.nullable(),
            )),
        query
    )
    .load(conn)?;

    let alert_rows: Vec<(i64, String, String, Option<NaiveDateTime>)> = in_view!(
        alerts::table
            .inner_join(participants::table)
            .filter(alerts::status.ne("resolved"))
            .select((
                alerts::participant_id,
                alerts::kind,
                alerts::status,
                alerts::snoozed_until,
            )),
        query
    )
    .load(conn)?;
    let mut open_alerts: HashMap<i64, OpenAlerts> = HashMap::new();
    for (participant, kind, status, snoozed_until) in alert_rows {
        if !alert_is_open(&status, snoozed_until, now) {
            continue;
        }
        let entry = open_alerts.entry(participant).or_default();
        entry.count += 1;
        let more_urgent = entry
            .most_urgent
            .as_deref()
            .is_none_or(|current| alert_rank(&kind) < alert_rank(current));
        if more_urgent {
            entry.most_urgent = Some(kind);
        }
    }

    let next_interviews: HashMap<i64, Option<NaiveDateTime>> = in_view!(
        interviews::table
            .inner_join(participants::table)
            .filter(interviews::status.eq_any(["scheduled", "confirmed"]))
            .filter(interviews::starts_at.ge(now))
            .group_by(interviews::participant_id)
            .select((interviews::participant_id, min(interviews::starts_at))),
        query
    )
    .load::<(i64, Option<NaiveDateTime>)>(conn)?
    .into_iter()
    .collect();

    let last_contacts: HashMap<Option<i64>, Option<NaiveDateTime>> = in_view!(
        contacts::table
            .inner_join(participants::table)
            .filter(contacts::party.eq("participant"))
            .filter(contacts::reached.eq(true))
            .group_by(contacts::participant_id)
            .select((contacts::participant_id, max(contacts::contacted_at))),
        query
    )
    .load::<(Option<i64>, Option<NaiveDateTime>)>(conn)?
    .into_iter()
    .collect();

    let mut rows: Vec<Row> = people
        .into_iter()
        .map(
            |(id, display_name, status, specialist_id, specialist_name, phase, due_at)| {
                let alerts = open_alerts.remove(&id).unwrap_or_default();
                Row {
                    id,
                    display_name,
                    status,
                    specialist_id,
                    specialist_name,
                    overdue: is_overdue(due_at, now),
                    phase,
                    due_at,
                    open_alerts: alerts.count,
                    most_urgent_alert: alerts.most_urgent,
                    next_interview_at: next_interviews.get(&id).copied().flatten(),
                    last_contact_at: last_contacts.get(&Some(id)).copied().flatten(),
                }
            },
        )
        .filter(|row| {
            query
                .phase
                .as_ref()
                .is_none_or(|phase| row.phase.as_ref() == Some(phase))
                && query
                    .has_open_alerts
                    .is_none_or(|wanted| (row.open_alerts > 0) == wanted)
                && query.overdue.is_none_or(|wanted| row.overdue == wanted)
        })
        .collect();
    rows.sort_by_cached_key(Row::urgency);
    let total = rows.len();
    rows.truncate(query.limit);
    Ok(View { rows, total })
}

/// A specialist of the team with the size and state of their caseload.
#[derive(Debug, Clone)]
pub struct SpecialistLoad {
    pub id: i64,
    pub name: String,
    pub active: bool,
    /// Participants whose case is not closed.
    pub active_participants: i64,
    pub within_caseload_target: bool,
    /// Open alerts about any participant of theirs (a closed case's withdrawal alert included).
    pub open_alerts: i64,
    /// Participants whose plan's due time has passed.
    pub overdue_follow_ups: i64,
}

/// Every specialist of the team: the active ones, and inactive ones who still have participants
/// or open alerts (so the supervisor sees who must be reassigned). Ordered by name.
pub fn specialists(
    conn: &mut DbConnection,
    team: i64,
    now: NaiveDateTime,
) -> Result<Vec<SpecialistLoad>, StoreError> {
    let members: Vec<(i64, String, bool)> = staff::table
        .filter(staff::team_id.eq(team))
        .filter(staff::role.eq(Role::Specialist.as_str()))
        .select((staff::id, staff::name, staff::active))
        .order((staff::name, staff::id))
        .load(conn)?;

    let mut active_participants: HashMap<i64, i64> = HashMap::new();
    let counts: Vec<(i64, i64)> = participants::table
        .filter(participants::team_id.eq(team))
        .filter(participants::status.ne("closed"))
        .group_by(participants::specialist_id)
        .select((participants::specialist_id, diesel::dsl::count_star()))
        .load(conn)?;
    active_participants.extend(counts);

    let mut open_alerts: HashMap<i64, i64> = HashMap::new();
    let alert_rows: Vec<(i64, String, Option<NaiveDateTime>)> = alerts::table
        .inner_join(participants::table)
        .filter(participants::team_id.eq(team))
        .filter(alerts::status.ne("resolved"))
        .select((
            participants::specialist_id,
            alerts::status,
            alerts::snoozed_until,
        ))
        .load(conn)?;
    for (specialist, status, snoozed_until) in alert_rows {
        if alert_is_open(&status, snoozed_until, now) {
            *open_alerts.entry(specialist).or_default() += 1;
        }
    }

    let mut overdue: HashMap<i64, i64> = HashMap::new();
    let overdue_rows: Vec<(i64, i64)> = participants::table
        .inner_join(follow_up_plans::table)
        .filter(participants::team_id.eq(team))
        .filter(participants::status.ne("closed"))
        .filter(follow_up_plans::due_at.lt(now))
        .group_by(participants::specialist_id)
        .select((participants::specialist_id, diesel::dsl::count_star()))
        .load(conn)?;
    overdue.extend(overdue_rows);

    Ok(members
        .into_iter()
        .map(|(id, name, active)| {
            let carried = active_participants.get(&id).copied().unwrap_or(0);
            SpecialistLoad {
                id,
                name,
                active,
                active_participants: carried,
                within_caseload_target: within_caseload_target(carried),
                open_alerts: open_alerts.get(&id).copied().unwrap_or(0),
                overdue_follow_ups: overdue.get(&id).copied().unwrap_or(0),
            }
        })
        .filter(|s| s.active || s.active_participants > 0 || s.open_alerts > 0)
        .collect())
}
