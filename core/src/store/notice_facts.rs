//! The rows a notification's words are made from (its recipient, interview, alert, ...), looked
//! up by id through a cache. The inbox and the worker load a whole page or batch of notifications'
//! facts at once, a few `IN (...)` queries however many notifications; a fact not loaded ahead
//! (a path the preload did not foresee) is read on its own, so the words are right either way.

use std::collections::HashMap;
use std::hash::Hash;

use diesel::prelude::*;

use super::alerts::{self as alert_store, Alert};
use super::bulk::ROWS_PER_STATEMENT;
use super::contact_requests::ContactRequest;
use super::interviews::Interview;
use super::notifications::Notification;
use super::participants::Participant;
use super::reassignments::SPECIALIST_CHANGED_KIND;
use super::staff::StaffMember;
use super::StoreError;
use crate::db::DbConnection;
use crate::domain::alerts::{self as alert_rules, AlertKind};
use crate::schema::{alerts, contact_requests, interviews, messages, participants, staff};

const INTERVIEW: &str = "interview";

/// The interview a notification is about, if any.
pub fn interview_id(n: &Notification) -> Option<i64> {
    match (n.subject_type.as_deref(), n.subject_id) {
        (Some(INTERVIEW), Some(id)) => Some(id),
        _ => n.payload_id("interview_id"),
    }
}

/// The alert an alert's notification is about, if any.
pub fn alert_id(n: &Notification) -> Option<i64> {
    match (n.subject_type.as_deref(), n.subject_id) {
        (Some(alert_store::SUBJECT), Some(id)) => Some(id),
        _ => n.payload_id("alert_id"),
    }
}

/// Rows by id; `None` records a row known to be missing, so it is not looked for again.
type Cache<T> = HashMap<i64, Option<T>>;

/// The facts cache over one connection (and so inside the caller's transaction).
pub struct Facts<'c> {
    conn: &'c mut DbConnection,
    participants: Cache<Participant>,
    staff: Cache<StaffMember>,
    interviews: Cache<Interview>,
    alerts: Cache<Alert>,
    requests: Cache<ContactRequest>,
    /// Messages: whether each is still unread.
    unread: Cache<bool>,
}

impl<'c> Facts<'c> {
    pub fn new(conn: &'c mut DbConnection) -> Self {
        Self {
            conn,
            participants: HashMap::new(),
            staff: HashMap::new(),
            interviews: HashMap::new(),
            alerts: HashMap::new(),
            requests: HashMap::new(),
            unread: HashMap::new(),
        }
    }

    /// The connection the facts are read on, for the caller's other statements.
    pub fn conn(&mut self) -> &mut DbConnection {
        self.conn
    }

    /// Loads in bulk what these notifications' words will need: their alerts first, then the
    /// participants, staff, interviews, messages and contact requests they and their alerts name.
    pub fn preload(&mut self, notes: &[Notification]) -> Result<(), StoreError> {
        let alert_ids: Vec<i64> = notes
            .iter()
            .filter(|n| n.kind == alert_rules::NOTIFICATION_KIND)
            .filter_map(alert_id)
            .collect();
        self.load_alerts(&alert_ids)?;
        let loaded_alerts: Vec<&Alert> = alert_ids
            .iter()
            .filter_map(|id| self.alerts.get(id).and_then(Option::as_ref))
            .collect();
        let mut participant_ids: Vec<i64> = notes
            .iter()
            .filter_map(|n| n.payload_id("participant_id"))
            .collect();
        let mut interview_ids: Vec<i64> = notes.iter().filter_map(interview_id).collect();
        let mut request_ids = Vec::new();
        for alert in &loaded_alerts {
            participant_ids.push(alert.participant_id);
            match (alert.kind(), alert.subject_id) {
                (Some(AlertKind::InterviewWithoutOutcome), Some(id)) => interview_ids.push(id),
                (Some(AlertKind::RequestWaiting), Some(id)) => request_ids.push(id),
                _ => {}
            }
        }
        let staff_ids: Vec<i64> = notes
            .iter()
            .filter(|n| n.kind == SPECIALIST_CHANGED_KIND)
            .filter_map(|n| n.payload_id("specialist_id"))
            .collect();
        let message_ids: Vec<i64> = notes
            .iter()
            .filter(|n| n.kind == super::messages::NEW_MESSAGE_KIND)
            .filter_map(|n| n.payload_id("message_id"))
            .collect();
        self.load_participants(&participant_ids)?;
        self.load_staff(&staff_ids)?;
        self.load_interviews(&interview_ids)?;
        self.load_requests(&request_ids)?;
        self.load_unread(&message_ids)
    }

    pub fn load_participants(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let conn = &mut *self.conn;
        load_into(&mut self.participants, ids, |chunk| {
            Ok(participants::table
                .filter(participants::id.eq_any(chunk))
                .select(Participant::as_select())
                .load(conn)?
                .into_iter()
                .map(|p| (p.id, p))
                .collect())
        })
    }

    pub fn load_staff(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let conn = &mut *self.conn;
        load_into(&mut self.staff, ids, |chunk| {
            Ok(staff::table
                .filter(staff::id.eq_any(chunk))
                .select(StaffMember::as_select())
                .load(conn)?
                .into_iter()
                .map(|s| (s.id, s))
                .collect())
        })
    }

    fn load_interviews(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let conn = &mut *self.conn;
        load_into(&mut self.interviews, ids, |chunk| {
            Ok(interviews::table
                .filter(interviews::id.eq_any(chunk))
                .select(Interview::as_select())
                .load(conn)?
                .into_iter()
                .map(|i| (i.id, i))
                .collect())
        })
    }

    fn load_alerts(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let conn = &mut *self.conn;
        load_into(&mut self.alerts, ids, |chunk| {
            Ok(alerts::table
                .filter(alerts::id.eq_any(chunk))
                .select(Alert::as_select())
                .load(conn)?
                .into_iter()
                .map(|a| (a.id, a))
                .collect())
        })
    }

    fn load_requests(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let conn = &mut *self.conn;
        load_into(&mut self.requests, ids, |chunk| {
            Ok(contact_requests::table
                .filter(contact_requests::id.eq_any(chunk))
                .select(ContactRequest::as_select())
                .load(conn)?
                .into_iter()
                .map(|r| (r.id, r))
                .collect())
        })
    }

    fn load_unread(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        let conn = &mut *self.conn;
        load_into(&mut self.unread, ids, |chunk| {
            Ok(messages::table
                .filter(messages::id.eq_any(chunk))
                .select((messages::id, messages::read_at))
                .load::<(i64, Option<chrono::NaiveDateTime>)>(conn)?
                .into_iter()
                .map(|(id, read_at)| (id, read_at.is_none()))
                .collect())
        })
    }

    pub fn participant(&mut self, id: i64) -> Result<Option<Participant>, StoreError> {
        self.load_participants(&[id])?;
        Ok(self.participants.get(&id).cloned().flatten())
    }

    pub fn staff(&mut self, id: i64) -> Result<Option<StaffMember>, StoreError> {
        self.load_staff(&[id])?;
        Ok(self.staff.get(&id).cloned().flatten())
    }

    /// Interview `id` if it is `participant_id`'s (as `interviews::get_of`).
    pub fn interview_of(
        &mut self,
        participant_id: i64,
        id: i64,
    ) -> Result<Option<Interview>, StoreError> {
        self.load_interviews(&[id])?;
        Ok(self
            .interviews
            .get(&id)
            .cloned()
            .flatten()
            .filter(|i| i.participant_id == participant_id))
    }

    pub fn alert(&mut self, id: i64) -> Result<Option<Alert>, StoreError> {
        self.load_alerts(&[id])?;
        Ok(self.alerts.get(&id).cloned().flatten())
    }

    /// Contact request `id` if it is `participant_id`'s.
    pub fn request_of(
        &mut self,
        participant_id: i64,
        id: i64,
    ) -> Result<Option<ContactRequest>, StoreError> {
        self.load_requests(&[id])?;
        Ok(self
            .requests
            .get(&id)
            .cloned()
            .flatten()
            .filter(|r| r.participant_id == participant_id))
    }

    /// Whether message `id` exists and is still unread.
    pub fn is_unread(&mut self, id: i64) -> Result<bool, StoreError> {
        self.load_unread(&[id])?;
        Ok(self.unread.get(&id).copied().flatten().unwrap_or(false))
    }

    /// Whether alert `id` still wants its push (it is open: not seen, snoozed or resolved).
    pub fn alert_wants_delivery(&mut self, id: i64) -> Result<bool, StoreError> {
        Ok(self.alert(id)?.is_some_and(|a| a.wants_delivery()))
    }
}

/// Loads the rows of `ids` not cached yet, in chunks, and records the missing ones as missing.
fn load_into<K: Copy + Eq + Hash + Ord, T>(
    cache: &mut HashMap<K, Option<T>>,
    ids: &[K],
    mut load: impl FnMut(&[K]) -> Result<Vec<(K, T)>, StoreError>,
) -> Result<(), StoreError> {
    let mut wanted: Vec<K> = ids
        .iter()
        .copied()
        .filter(|id| !cache.contains_key(id))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    for chunk in wanted.chunks(ROWS_PER_STATEMENT) {
        for id in chunk {
            cache.insert(*id, None);
        }
        for (id, row) in load(chunk)? {
            cache.insert(id, Some(row));
        }
    }
    Ok(())
}
