//! Job interviews and their reminders.
//!
//! Saving, moving, confirming or cancelling an interview rewrites its pending reminders in the
//! outbox in the same transaction, so a reminder can never point at a time that is no longer true.

use chrono::{DateTime, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use std::sync::LazyLock;

use super::audit::{self, Entry};
use super::bulk::Value;
use super::notifications::{self, NewNotification, Recipient};
use super::participants::Participant;
use super::prepared::{Prepared, Statement};
use super::{webhooks, StoreError};
use crate::db::DbConnection;
use crate::domain::interviews::Status;
use crate::domain::reminders;
use crate::domain::settings::{self, QuietHours};
use crate::domain::webhooks::{Event, InterviewFacts};
use crate::schema::interviews;

pub const REMINDER_KIND: &str = "interview_reminder";
/// The notice to the other side that an interview was cancelled.
pub const CANCELLED_KIND: &str = "interview_cancelled";
const SUBJECT: &str = "interview";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = interviews)]
pub struct Interview {
    pub id: i64,
    pub participant_id: i64,
    pub employer: String,
    pub role_title: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub address: Option<String>,
    pub video_link: Option<String>,
    pub contact_person: Option<String>,
    pub specialist_attends: bool,
    pub notes: Option<String>,
    pub checklist: String,
    pub debrief: Option<String>,
    pub cancel_reason: Option<String>,
    pub status: String,
    pub outcome: Option<String>,
    pub sequence: i32,
    pub created_by_kind: String,
    pub created_by_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// `None` is written as NULL, not as `DEFAULT` (the same here), which keeps the insert's SQL the
/// same whichever fields are given, so diesel keeps it prepared.
#[derive(Debug, Insertable)]
#[diesel(table_name = interviews, treat_none_as_default_value = false)]
pub struct NewInterview {
    pub participant_id: i64,
    pub employer: String,
    pub role_title: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub address: Option<String>,
    pub video_link: Option<String>,
    pub contact_person: Option<String>,
    pub specialist_attends: bool,
    pub notes: Option<String>,
    pub checklist: String,
    pub status: String,
    pub sequence: i32,
    pub created_by_kind: String,
    pub created_by_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Interview {
    /// What a webhook event may say about the interview: times and state, no words.
    pub fn facts(&self) -> InterviewFacts {
        InterviewFacts {
            interview_id: self.id,
            participant_id: self.participant_id,
            status: self.status.clone(),
            outcome: self.outcome.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            time_zone: self.time_zone.clone(),
            sequence: self.sequence,
        }
    }
}

/// A partial update; `None` leaves a field, `Some(None)` clears an optional one.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = interviews)]
pub struct InterviewChanges {
    pub employer: Option<String>,
    pub role_title: Option<String>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub time_zone: Option<String>,
    pub address: Option<Option<String>>,
    pub video_link: Option<Option<String>>,
    pub contact_person: Option<Option<String>>,
    pub specialist_attends: Option<bool>,
    pub notes: Option<Option<String>>,
    pub checklist: Option<String>,
    pub debrief: Option<Option<String>>,
    pub cancel_reason: Option<Option<String>>,
    pub status: Option<String>,
    pub outcome: Option<Option<String>>,
    pub sequence: Option<i32>,
    pub updated_at: Option<NaiveDateTime>,
    /// Cleared when the interview moves: its new end is a new occurrence for the "no outcome"
    /// alert scan (`store::alert_scans`).
    pub outcome_alerted_at: Option<Option<NaiveDateTime>>,
}

/// Where a participant wants reminders: their zone, offsets and quiet hours.
#[derive(Debug, Clone)]
pub struct ReminderSettings {
    pub time_zone: Tz,
    pub offsets_minutes: Vec<i64>,
    pub quiet_hours: QuietHours,
}

impl ReminderSettings {
    /// The participant's reminder preferences: their time zone, offsets and quiet hours. Stored
    /// values were validated on the way in; an unreadable one falls back to the product default.
    pub fn of(participant: &Participant) -> Self {
        let offsets = settings::decode_reminder_offsets(&participant.reminder_offsets)
            .unwrap_or_else(|| settings::DEFAULT_REMINDER_OFFSETS.to_vec());
        let quiet_hours =
            QuietHours::parse(&participant.quiet_hours_start, &participant.quiet_hours_end)
                .or_else(|| {
                    QuietHours::parse(
                        settings::DEFAULT_QUIET_HOURS_START,
                        settings::DEFAULT_QUIET_HOURS_END,
                    )
                })
                .unwrap_or(QuietHours {
                    start: NaiveTime::MIN,
                    end: NaiveTime::MIN,
                });
        ReminderSettings {
            time_zone: participant
                .time_zone
                .parse()
                .unwrap_or(chrono_tz::Europe::Oslo),
            offsets_minutes: offsets.into_iter().map(i64::from).collect(),
            quiet_hours,
        }
    }
}

/// A new interview as recorded, with its reminders' due times, soonest first.
#[derive(Debug)]
pub struct Created {
    pub interview: Interview,
    pub reminders: Vec<NaiveDateTime>,
}

/// Records a new interview with what goes with it: its reminders (as `settings` plan them), its
/// `interview.created` webhook event, and `audit` (naming the interview). `None` when the
/// participant has withdrawn by then: nothing is written.
///
/// PostgreSQL: the id is drawn from the table's sequence, then one statement writes everything
/// through data-modifying `WITH` clauses, so the whole is all or none without a transaction
/// around it (see `Db::write_atomic`); the participant's withdrawal is checked in the same
/// statement. SQLite: one statement for each kind of row, in the caller's write transaction.
pub fn create(
    conn: &mut DbConnection,
    new: NewInterview,
    settings: &ReminderSettings,
    audit: &Entry,
    request_id: Option<&str>,
) -> Result<Option<Created>, StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            let drawn: Vec<Id> = Prepared::<NextId>::new(&[]).load(pg)?;
            let id = drawn
                .first()
                .map(|d| d.id)
                .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("nextval returned no row")))?;
            let interview = new.with_id(id);
            let at = interview.created_at;
            let reminders = reminder_plan(&interview, settings, false, at);
            let mut values = interview_values(&interview);
            values.push(notifications::enqueue_json(&reminders, at)?);
            values.extend(audit::values(
                &audit.clone().subject(SUBJECT, id),
                request_id,
                at,
            ));
            let event = Event::InterviewCreated(interview.facts());
            values.extend(webhooks::emit_values(&event, at));
            let written: Vec<Id> = Prepared::<CreateStatement>::new(&values).load(pg)?;
            if written.is_empty() {
                return Ok(None);
            }
            let mut due: Vec<NaiveDateTime> = reminders.iter().map(|r| r.due_at).collect();
            due.sort_unstable();
            Ok(Some(Created {
                interview,
                reminders: due,
            }))
        }
        DbConnection::Sqlite(lite) => {
            // The stored row comes back with the insert.
            let interview: Interview = diesel::insert_into(interviews::table)
                .values(&new)
                .returning(Interview::as_returning())
                .get_result(lite)?;
            let at = interview.created_at;
            webhooks::emit(conn, &Event::InterviewCreated(interview.facts()), at)?;
            let reminders = plan_reminders(conn, &interview, settings, false, at)?;
            audit::record(
                conn,
                &[audit.clone().subject(SUBJECT, interview.id)],
                request_id,
                at,
            )?;
            Ok(Some(Created {
                interview,
                reminders,
            }))
        }
    }
}

/// An interview's id, as [`create`]'s statements return it.
#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The next id of the interviews' identity column, drawn before the insert so that the rows
/// written with it can name it.
struct NextId;

impl Statement for NextId {
    fn sql() -> &'static str {
        "SELECT nextval(pg_get_serial_sequence('interviews', 'id')) AS id"
    }
}

/// [`CREATE_SQL`], as a prepared statement.
struct CreateStatement;

impl Statement for CreateStatement {
    fn sql() -> &'static str {
        &CREATE_SQL
    }
}

/// The columns [`create`] writes on PostgreSQL, in the order of [`interview_values`]: the id and
/// every column of [`NewInterview`].
const CREATE_COLUMNS: &str = "id, participant_id, employer, role_title, starts_at, ends_at, \
    time_zone, address, video_link, contact_person, specialist_attends, notes, checklist, \
    status, sequence, created_by_kind, created_by_id, created_at, updated_at";

/// The values of [`CREATE_COLUMNS`], then the participant's id again for the withdrawal check.
fn interview_values(i: &Interview) -> Vec<Value> {
    let text = |t: &str| Value::Text(Some(t.to_owned()));
    vec![
        Value::Int(i.id),
        Value::Int(i.participant_id),
        text(&i.employer),
        text(&i.role_title),
        Value::Time(Some(i.starts_at)),
        Value::Time(Some(i.ends_at)),
        text(&i.time_zone),
        Value::Text(i.address.clone()),
        Value::Text(i.video_link.clone()),
        Value::Text(i.contact_person.clone()),
        Value::Bool(i.specialist_attends),
        Value::Text(i.notes.clone()),
        text(&i.checklist),
        text(&i.status),
        Value::OptInt32(Some(i.sequence)),
        text(&i.created_by_kind),
        Value::Int(i.created_by_id),
        Value::Time(Some(i.created_at)),
        Value::Time(Some(i.updated_at)),
        Value::Int(i.participant_id),
    ]
}

/// The new interview (written only while its participant has not withdrawn), its reminders, its
/// audit entry and its webhook event, in one statement.
static CREATE_SQL: LazyLock<String> = LazyLock::new(|| {
    let placeholders = vec!["?"; CREATE_COLUMNS.split(',').count()].join(", ");
    format!(
        "WITH saved AS (INSERT INTO interviews ({CREATE_COLUMNS}) SELECT {placeholders} \
         WHERE EXISTS (SELECT 1 FROM participants WHERE id = ? AND withdrawn_at IS NULL) \
         RETURNING id), \
         reminders AS ({}), audit AS ({} FROM saved), {} \
         SELECT id FROM saved",
        notifications::ENQUEUE_FROM_JSON,
        audit::INSERT_SELECT,
        webhooks::EMIT_CLAUSES,
    )
});

impl NewInterview {
    /// The interview as [`create`] writes it under `id`.
    fn with_id(self, id: i64) -> Interview {
        Interview {
            id,
            participant_id: self.participant_id,
            employer: self.employer,
            role_title: self.role_title,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            time_zone: self.time_zone,
            address: self.address,
            video_link: self.video_link,
            contact_person: self.contact_person,
            specialist_attends: self.specialist_attends,
            notes: self.notes,
            checklist: self.checklist,
            debrief: None,
            cancel_reason: None,
            status: self.status,
            outcome: None,
            sequence: self.sequence,
            created_by_kind: self.created_by_kind,
            created_by_id: self.created_by_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

fn get(conn: &mut DbConnection, id: i64) -> Result<Interview, StoreError> {
    Ok(interviews::table
        .find(id)
        .select(Interview::as_select())
        .first(conn)?)
}

/// An interview of this participant; another participant's is `NotFound`, like a missing one.
pub fn get_of(
    conn: &mut DbConnection,
    participant_id: i64,
    id: i64,
) -> Result<Interview, StoreError> {
    Ok(interviews::table
        .filter(interviews::id.eq(id))
        .filter(interviews::participant_id.eq(participant_id))
        .select(Interview::as_select())
        .first(conn)?)
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: InterviewChanges,
) -> Result<Interview, StoreError> {
    let before: String = interviews::table
        .find(id)
        .select(interviews::status)
        .first(conn)?;
    diesel::update(interviews::table.find(id))
        .set(&changes)
        .execute(conn)?;
    let updated = get(conn, id)?;
    let cancelled = Status::Cancelled.as_str();
    let event = if updated.status == cancelled && before != cancelled {
        Event::InterviewCancelled(updated.facts())
    } else {
        Event::InterviewChanged(updated.facts())
    };
    webhooks::emit(conn, &event, updated.updated_at)?;
    Ok(updated)
}

/// Where a page of the list ends: upcoming interviews come first (soonest first), then past
/// ones (latest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListPosition {
    Upcoming {
        starts_at: NaiveDateTime,
        id: i64,
    },
    Past {
        starts_at: NaiveDateTime,
        id: i64,
    },
    /// The start of the past part. No longer handed out (a page that ends with the upcoming
    /// part now continues from its last one), but still read in cursors given out earlier.
    PastFromStart,
}

/// An interview on a page of the list, with its reminders still to be sent (soonest first).
#[derive(Debug, Clone)]
pub struct Listed {
    pub interview: Interview,
    pub reminders: Vec<NaiveDateTime>,
}

/// The list's reminder column: the pending reminders of the row's interview, their due times in
/// one comma-separated text (PostgreSQL's and SQLite's aggregates differ in name and in how they
/// write a timestamp; [`parse_due_times`] reads both). Served by `notifications_subject_idx`.
///
/// A fragment of our own rather than `diesel::dsl::sql`, whose literal SQL diesel never keeps
/// prepared: this one is the same text every time, so each connection prepares it once.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
struct PendingReminderTimes;

impl diesel::expression::Expression for PendingReminderTimes {
    type SqlType = diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

impl diesel::expression::AppearsOnTable<interviews::table> for PendingReminderTimes {}

impl diesel::expression::SelectableExpression<interviews::table> for PendingReminderTimes {}

impl<GroupBy> diesel::expression::ValidGrouping<GroupBy> for PendingReminderTimes {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl PendingReminderTimes {
    fn walk<DB: diesel::backend::Backend>(
        aggregate: &'static str,
        mut out: diesel::query_builder::AstPass<'_, '_, DB>,
    ) -> QueryResult<()> {
        out.push_sql("(SELECT ");
        out.push_sql(aggregate);
        out.push_sql(" FROM notifications n WHERE n.subject_type = '");
        out.push_sql(SUBJECT);
        out.push_sql("' AND n.subject_id = interviews.id AND n.kind = '");
        out.push_sql(REMINDER_KIND);
        out.push_sql("' AND n.status = 'pending')");
        Ok(())
    }
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for PendingReminderTimes {
    fn walk_ast<'b>(
        &'b self,
        out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        Self::walk(
            "string_agg(to_char(n.due_at, 'YYYY-MM-DD HH24:MI:SS.US'), ',')",
            out,
        )
    }
}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for PendingReminderTimes {
    fn walk_ast<'b>(
        &'b self,
        out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> QueryResult<()> {
        Self::walk("group_concat(n.due_at, ',')", out)
    }
}

/// Due times as [`PendingReminderTimes`] writes them, soonest first; a malformed one is skipped.
fn parse_due_times(text: Option<&str>) -> Vec<NaiveDateTime> {
    let mut due: Vec<NaiveDateTime> = text
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| {
            let t = t.trim();
            NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
                .ok()
        })
        .collect();
    due.sort_unstable();
    due
}

/// One page of a participant's interviews, upcoming ones first (soonest first), then past ones
/// (latest first), each with its pending reminders: one statement, so the page and its
/// reminders are one snapshot with no transaction around them. Returns the page and where the
/// next one starts, if there is more.
pub fn list(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<ListPosition>,
    limit: i64,
    now: NaiveDateTime,
) -> Result<(Vec<Listed>, Option<ListPosition>), StoreError> {
    use diesel::dsl::case_when;
    use diesel::sql_types::{BigInt, Integer, Timestamp};

    // The order in one key: the upcoming part (0) before the past part (1); within each, the
    // other part's columns are NULL for every row, so how a backend sorts NULLs does not matter.
    let upcoming = || interviews::ends_at.gt(now);
    let past = || interviews::ends_at.le(now);
    // The page's query without a cursor. Written once and used twice: as it is for a first page,
    // the common request, whose type alone identifies the statement, so diesel finds it prepared
    // without building its SQL; boxed with the cursor's condition for the pages after it, whose
    // SQL diesel builds every time to find the prepared statement by its text.
    macro_rules! page_query {
        () => {
            interviews::table
                .filter(interviews::participant_id.eq(participant_id))
                .select((Interview::as_select(), PendingReminderTimes))
                .order((
                    case_when::<_, _, Integer>(upcoming(), 0).otherwise(1).asc(),
                    case_when::<_, _, Timestamp>(upcoming(), interviews::starts_at).asc(),
                    case_when::<_, _, BigInt>(upcoming(), interviews::id).asc(),
                    case_when::<_, _, Timestamp>(past(), interviews::starts_at).desc(),
                    case_when::<_, _, BigInt>(past(), interviews::id).desc(),
                ))
                .limit(limit + 1)
        };
    }
    let rows: Vec<(Interview, Option<String>)> = crate::per_backend!(conn, |c| match after {
        None => page_query!().load(c),
        Some(after) => {
            let query = page_query!().into_boxed();
            let query = match after {
                // The rest of the upcoming part, then the whole past part.
                ListPosition::Upcoming { starts_at, id } => query.filter(
                    past().or(interviews::starts_at.gt(starts_at).or(interviews::starts_at
                        .eq(starts_at)
                        .and(interviews::id.gt(id)))),
                ),
                ListPosition::Past { starts_at, id } => query.filter(
                    past().and(
                        interviews::starts_at.lt(starts_at).or(interviews::starts_at
                            .eq(starts_at)
                            .and(interviews::id.lt(id))),
                    ),
                ),
                ListPosition::PastFromStart => query.filter(past()),
            };
            query.load(c)
        }
    })?;
    let more = rows.len() as i64 > limit;
    let items: Vec<Listed> = rows
        .into_iter()
        .take(limit.max(0) as usize)
        .map(|(interview, due)| Listed {
            reminders: parse_due_times(due.as_deref()),
            interview,
        })
        .collect();
    let next = if more {
        items.last().map(|l| {
            let (starts_at, id) = (l.interview.starts_at, l.interview.id);
            if l.interview.ends_at > now {
                ListPosition::Upcoming { starts_at, id }
            } else {
                ListPosition::Past { starts_at, id }
            }
        })
    } else {
        None
    };
    Ok((items, next))
}

/// Every interview of a participant whose calendar matters: not ended more than `since` ago.
pub fn for_calendar(
    conn: &mut DbConnection,
    participant_id: i64,
    since: NaiveDateTime,
) -> Result<Vec<Interview>, StoreError> {
    Ok(interviews::table
        .filter(interviews::participant_id.eq(participant_id))
        .filter(interviews::ends_at.gt(since))
        .select(Interview::as_select())
        .order((interviews::starts_at.asc(), interviews::id.asc()))
        .limit(500)
        .load(conn)?)
}

/// Rewrites the interview's pending reminders from scratch: cancels what was planned and plans
/// again for its current time and status. `only_last` keeps just the final reminder (after the
/// participant confirmed: one timely reminder, no nagging). Returns the planned due times.
pub fn replan_reminders(
    conn: &mut DbConnection,
    interview: &Interview,
    settings: &ReminderSettings,
    only_last: bool,
    now: NaiveDateTime,
) -> Result<Vec<NaiveDateTime>, StoreError> {
    notifications::cancel_pending(conn, REMINDER_KIND, (SUBJECT, interview.id), now)?;
    plan_reminders(conn, interview, settings, only_last, now)
}

/// Plans the reminders of an interview that has none pending (a new one, or one whose reminders
/// were just cancelled), in one statement. Returns their due times, soonest first: with nothing
/// else pending, these are the interview's pending reminders.
fn plan_reminders(
    conn: &mut DbConnection,
    interview: &Interview,
    settings: &ReminderSettings,
    only_last: bool,
    now: NaiveDateTime,
) -> Result<Vec<NaiveDateTime>, StoreError> {
    let reminders = reminder_plan(interview, settings, only_last, now);
    let mut due = notifications::enqueue_many(conn, &reminders, now)?;
    due.sort_unstable();
    Ok(due)
}

/// The reminders an interview wants from `now` on: none unless its status wants reminders; with
/// `only_last`, just the last one before it starts.
fn reminder_plan(
    interview: &Interview,
    settings: &ReminderSettings,
    only_last: bool,
    now: NaiveDateTime,
) -> Vec<NewNotification> {
    let status = crate::domain::interviews::Status::parse(&interview.status);
    if !status.is_some_and(|s| s.wants_reminders()) {
        return Vec::new();
    }
    let starts_at = interview.starts_at.and_utc();
    let mut plan = reminders::plan(
        starts_at,
        settings.time_zone,
        &settings.offsets_minutes,
        settings.quiet_hours,
        now.and_utc(),
    );
    if only_last {
        plan = plan.into_iter().last().into_iter().collect();
    }
    plan.into_iter()
        .map(|planned| NewNotification {
            recipient: Recipient::Participant(interview.participant_id),
            kind: REMINDER_KIND,
            // The sequence makes a moved interview's reminders new rows, never the old ones reused.
            dedupe_key: format!(
                "interview:{}:seq:{}:offset:{}",
                interview.id, interview.sequence, planned.offset_minutes
            ),
            subject: Some((SUBJECT, interview.id)),
            payload: serde_json::json!({
                "interview_id": interview.id,
                "offset_minutes": planned.offset_minutes,
                "moved_for_quiet_hours": planned.moved_for_quiet_hours,
                "ask_to_confirm": interview.status == "scheduled",
            }),
            due_at: planned.due_at.naive_utc(),
            expires_at: Some(interview.starts_at),
        })
        .collect()
}

/// The interview's reminders still to be sent, soonest first.
pub fn pending_reminders(
    conn: &mut DbConnection,
    interview_id: i64,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    Ok(
        notifications::pending_for_subject(conn, REMINDER_KIND, (SUBJECT, interview_id))?
            .into_iter()
            .map(|(_, at)| at.and_utc())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_read_back_from_either_backend_soonest_first() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok();
        // PostgreSQL's `to_char` (always microseconds), SQLite's stored text (fraction optional).
        let parsed = parse_due_times(Some(
            "2026-12-01 09:00:00.000000,2026-11-30 18:30:00,2026-11-30 08:00:00.250000",
        ));
        assert_eq!(
            parsed.into_iter().map(Some).collect::<Vec<_>>(),
            vec![
                at("2026-11-30 08:00:00.25"),
                at("2026-11-30 18:30:00"),
                at("2026-12-01 09:00:00"),
            ]
        );
        assert!(parse_due_times(None).is_empty());
        assert!(parse_due_times(Some("not a time")).is_empty());
    }
}
