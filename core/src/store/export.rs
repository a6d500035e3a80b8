//! The participant's own copy of everything stored about them (GDPR articles 15 and 20), read in
//! one consistent snapshot. Hashes and secrets are never part of it: the store types used here
//! leave out token hashes, code hashes and the calendar-feed hash, and push tokens are masked by
//! whoever presents them.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::audit::{self, AuditEvent};
use super::contact_requests::{self, ContactRequestWithHandler};
use super::contacts::{self, LoggedContact};
use super::devices::{self, Device};
use super::enrolment_codes::{self, CodeRecord};
use super::follow_up::{self, PlanRow};
use super::interviews::{self, Interview, ListPosition};
use super::job_preferences::{self, Change, Current};
use super::jobs::{self, Job};
use super::messages::{self, ThreadMessage};
use super::notifications::{self, Notification, Recipient};
use super::participants::{self, Participant};
use super::sessions::{self, SessionRecord, Subject};
use super::status_changes::{self, StatusChange};
use super::{Page, StoreError};
use crate::db::{read_transaction, DbConnection};

/// Rows per query while draining a paged list.
const BATCH: i64 = 200;

#[derive(Debug)]
pub struct ParticipantExport {
    pub participant: Participant,
    pub calendar_feed_active: bool,
    pub job_preferences: Current,
    pub job_preference_history: Vec<Change>,
    /// Each interview with the reminders still to be sent for it.
    pub interviews: Vec<(Interview, Vec<DateTime<Utc>>)>,
    pub messages: Vec<ThreadMessage>,
    pub contact_requests: Vec<ContactRequestWithHandler>,
    pub follow_up_plan: PlanRow,
    pub status_history: Vec<StatusChange>,
    pub jobs: Vec<Job>,
    /// The specialist's log of contacts with them, notes included: what is written about a
    /// person is theirs to read.
    pub contacts: Vec<LoggedContact>,
    pub devices: Vec<Device>,
    pub sessions: Vec<SessionRecord>,
    pub enrolment_codes: Vec<CodeRecord>,
    pub notifications: Vec<Notification>,
    pub audit_events: Vec<AuditEvent>,
}

/// Every page of a keyset-paginated list.
fn all<T>(
    mut page: impl FnMut(Option<i64>) -> Result<Page<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let next = page(after)?;
        items.extend(next.items);
        match next.next_after {
            Some(last) => after = Some(last),
            None => return Ok(items),
        }
    }
}

/// Collects the participant's data in one read-only transaction of its own, so the sections
/// agree with each other even while the participant or their specialist keeps writing.
pub fn collect(
    conn: &mut DbConnection,
    participant_id: i64,
    now: NaiveDateTime,
) -> Result<ParticipantExport, StoreError> {
    read_transaction(conn, |conn| {
        let participant = participants::get(conn, participant_id)?;
        let calendar_feed_active = participants::has_calendar_feed(conn, participant_id)?;
        let job_preferences = job_preferences::get(conn, participant_id)?;
        let job_preference_history =
            all(|after| job_preferences::history(conn, participant_id, after, BATCH))?;
        let mut listed = Vec::new();
        let mut position: Option<ListPosition> = None;
        loop {
            let (found, next) = interviews::list(conn, participant_id, position, BATCH, now)?;
            listed.extend(found);
            match next {
                Some(p) => position = Some(p),
                None => break,
            }
        }
        // Each page comes with its pending reminders: no query per interview.
        let with_reminders: Vec<_> = listed
            .into_iter()
            .map(|l| {
                let pending = l.reminders.into_iter().map(|at| at.and_utc()).collect();
                (l.interview, pending)
            })
            .collect();
        let messages = all(|after| messages::list(conn, participant_id, after, BATCH))?;
        let contact_requests =
            all(|after| contact_requests::list(conn, participant_id, after, BATCH))?;
        let follow_up_plan = follow_up::get(conn, participant_id)?;
        let status_history = all(|after| status_changes::list(conn, participant_id, after, BATCH))?;
        let jobs = all(|after| jobs::list(conn, participant_id, after, BATCH))?;
        let mut logged = Vec::new();
        let mut position = None;
        loop {
            let (found, next) =
                contacts::list_for_participant(conn, participant_id, position, BATCH)?;
            logged.extend(found);
            match next {
                Some(p) => position = Some(p),
                None => break,
            }
        }
        let owner = Subject::Participant(participant_id);
        let devices = all(|after| devices::list_own(conn, owner, after, BATCH))?;
        let sessions = sessions::history_of(conn, owner)?;
        let enrolment_codes = enrolment_codes::history_of(conn, participant_id)?;
        let notifications = all(|after| {
            notifications::all_for(conn, Recipient::Participant(participant_id), after, BATCH)
        })?;
        let audit_events =
            all(|after| audit::list_for_participant(conn, participant_id, after, BATCH))?;
        Ok(ParticipantExport {
            participant,
            calendar_feed_active,
            job_preferences,
            job_preference_history,
            interviews: with_reminders,
            messages,
            contact_requests,
            follow_up_plan,
            status_history,
            jobs,
            contacts: logged,
            devices,
            sessions,
            enrolment_codes,
            notifications,
            audit_events,
        })
    })
}
