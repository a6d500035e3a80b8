//! Job interviews and their reminders.
//!
//! Saving, moving, confirming or cancelling an interview rewrites its pending reminders in the
//! outbox in the same transaction, so a reminder can never point at a time that is no longer true.

use chrono::{DateTime, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::notifications::{self, NewNotification, Recipient};
use super::participants::Participant;
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

#[derive(Debug, Insertable)]
#[diesel(table_name = interviews)]
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

pub fn create(conn: &mut DbConnection, new: NewInterview) -> Result<Interview, StoreError> {
    let id = diesel::insert_into(interviews::table)
        .values(&new)
        .returning(interviews::id)
        .get_result(conn)?;
    let created = get(conn, id)?;
    webhooks::emit(
        conn,
        &Event::InterviewCreated(created.facts()),
        created.created_at,
    )?;
    Ok(created)
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
    /// The upcoming part ended exactly at a page boundary: the next page starts the past part.
    PastFromStart,
}

pub fn list(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<ListPosition>,
    limit: i64,
    now: NaiveDateTime,
) -> Result<(Vec<Interview>, Option<ListPosition>), StoreError> {
    let mine = interviews::table.filter(interviews::participant_id.eq(participant_id));
    let mut items = Vec::new();
    if !matches!(
        after,
        Some(ListPosition::Past { .. } | ListPosition::PastFromStart)
    ) {
        let mut upcoming = mine
            .filter(interviews::ends_at.gt(now))
            .select(Interview::as_select())
            .order((interviews::starts_at.asc(), interviews::id.asc()))
            .limit(limit + 1)
            .into_boxed();
        if let Some(ListPosition::Upcoming { starts_at, id }) = after {
            upcoming = upcoming.filter(
                interviews::starts_at.gt(starts_at).or(interviews::starts_at
                    .eq(starts_at)
                    .and(interviews::id.gt(id))),
            );
        }
        items = upcoming.load(conn)?;
        if items.len() as i64 > limit {
            items.truncate(limit as usize);
            let last = items.last().map(|i| ListPosition::Upcoming {
                starts_at: i.starts_at,
                id: i.id,
            });
            return Ok((items, last));
        }
    }
    let room = limit - items.len() as i64;
    if room == 0 {
        // The page is full of upcoming interviews; the past ones follow on the next page.
        let any_past: bool = diesel::select(diesel::dsl::exists(
            mine.filter(interviews::ends_at.le(now)),
        ))
        .get_result(conn)?;
        return Ok((items, any_past.then_some(ListPosition::PastFromStart)));
    }
    let mut past = mine
        .filter(interviews::ends_at.le(now))
        .select(Interview::as_select())
        .order((interviews::starts_at.desc(), interviews::id.desc()))
        .limit(room + 1)
        .into_boxed();
    if let Some(ListPosition::Past { starts_at, id }) = after {
        past = past.filter(
            interviews::starts_at.lt(starts_at).or(interviews::starts_at
                .eq(starts_at)
                .and(interviews::id.lt(id))),
        );
    }
    let mut older = past.load(conn)?;
    let more = older.len() as i64 > room;
    older.truncate(room.max(0) as usize);
    items.extend(older);
    let next = if more {
        items.last().map(|i| ListPosition::Past {
            starts_at: i.starts_at,
            id: i.id,
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
    let status = crate::domain::interviews::Status::parse(&interview.status);
    if !status.is_some_and(|s| s.wants_reminders()) {
        return Ok(Vec::new());
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
    let mut due = Vec::new();
    for planned in plan {
        let at = planned.due_at.naive_utc();
        let reminder = NewNotification {
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
            due_at: at,
            expires_at: Some(interview.starts_at),
        };
        notifications::enqueue(conn, &reminder, now)?;
        due.push(at);
    }
    Ok(due)
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
