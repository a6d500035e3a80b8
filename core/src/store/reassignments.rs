//! Giving a participant another specialist of their team. The caseload rule follows
//! `participants.specialist_id`, so the change of hands is one update: the old specialist loses
//! the participant on their very next request. Their open alerts go with the case, the old
//! specialist's pushes about it that are still to be sent are cancelled, and the participant is
//! told who their new contact is (an outbox notification, worded when read or pushed).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::notifications::{self, NewNotification, Recipient};
use super::participants::Participant;
use super::{staff, StoreError};
use crate::db::DbConnection;
use crate::domain::Role;
use crate::schema::{
    alerts, contact_requests, interviews, messages, notifications as outbox, participants,
    reassignments,
};

/// The notification that tells a participant their new specialist (payload: `specialist_id`).
pub const SPECIALIST_CHANGED_KIND: &str = "specialist_changed";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reassignments)]
pub struct Reassignment {
    pub id: i64,
    pub participant_id: i64,
    pub from_specialist_id: i64,
    pub to_specialist_id: i64,
    pub note: Option<String>,
    pub reassigned_by: i64,
    pub reassigned_at: NaiveDateTime,
}

/// What a reassignment did besides moving the case.
#[derive(Debug, Clone)]
pub struct Reassigned {
    pub reassignment: Reassignment,
    pub alerts_moved: usize,
    pub pushes_cancelled: usize,
    pub participant_notified: bool,
}

/// Why a reassignment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The new specialist is unknown, not a specialist, in another team, or deactivated. One
    /// answer for all of them: which it is, is the caller's own team's business to look up.
    NotAnActiveSpecialistOfTheTeam,
    /// The participant already has that specialist.
    AlreadyTheirs,
}

/// Moves `participant` to specialist `to`, inside the caller's write transaction.
pub fn reassign(
    conn: &mut DbConnection,
    participant: &Participant,
    to: i64,
    by: i64,
    note: Option<String>,
    now: NaiveDateTime,
) -> Result<Result<Reassigned, Refusal>, StoreError> {
    let target = match staff::get(conn, to) {
        Ok(member) => member,
        Err(StoreError::NotFound) => return Ok(Err(Refusal::NotAnActiveSpecialistOfTheTeam)),
        Err(e) => return Err(e),
    };
    if target.role() != Some(Role::Specialist)
        || target.team_id != Some(participant.team_id)
        || !target.active
    {
        return Ok(Err(Refusal::NotAnActiveSpecialistOfTheTeam));
    }
    let from = participant.specialist_id;
    if from == to {
        return Ok(Err(Refusal::AlreadyTheirs));
    }

    // Only if the case is still the one read: a concurrent reassignment wins, this one reports it.
    let moved = diesel::update(
        participants::table
            .find(participant.id)
            .filter(participants::specialist_id.eq(from)),
    )
    .set((
        participants::specialist_id.eq(to),
        participants::updated_at.eq(now),
    ))
    .execute(conn)?;
    if moved != 1 {
        return Err(StoreError::Conflict(
            "the participant was reassigned by someone else at the same time".into(),
        ));
    }

    let id: i64 = diesel::insert_into(reassignments::table)
        .values((
            reassignments::participant_id.eq(participant.id),
            reassignments::from_specialist_id.eq(from),
            reassignments::to_specialist_id.eq(to),
            reassignments::note.eq(&note),
            reassignments::reassigned_by.eq(by),
            reassignments::reassigned_at.eq(now),
        ))
        .returning(reassignments::id)
        .get_result(conn)?;

    let alerts_moved = diesel::update(
        alerts::table
            .filter(alerts::participant_id.eq(participant.id))
            .filter(alerts::status.ne("resolved")),
    )
    .set((alerts::staff_id.eq(to), alerts::updated_at.eq(now)))
    .execute(conn)?;

    let pushes_cancelled = cancel_pushes_about(conn, participant.id, from, now)?;

    // Someone who has withdrawn is sent nothing more.
    let participant_notified = participant.withdrawn_at.is_none()
        && notifications::enqueue(
            conn,
            &NewNotification {
                recipient: Recipient::Participant(participant.id),
                kind: SPECIALIST_CHANGED_KIND,
                dedupe_key: format!("{SPECIALIST_CHANGED_KIND}:{id}"),
                subject: None,
                payload: serde_json::json!({ "specialist_id": to, "reassignment_id": id }),
                due_at: now,
                expires_at: None,
            },
            now,
        )?;

    let reassignment = reassignments::table
        .find(id)
        .select(Reassignment::as_select())
        .first(conn)?;
    Ok(Ok(Reassigned {
        reassignment,
        alerts_moved,
        pushes_cancelled,
        participant_notified,
    }))
}

/// Cancels what is still to be sent to `staff_id` about the participant: alerts, interview
/// notices, anything about their requests, messages or the participant themselves.
fn cancel_pushes_about(
    conn: &mut DbConnection,
    participant: i64,
    staff_id: i64,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let their_alerts = alerts::table
        .filter(alerts::participant_id.eq(participant))
        .select(alerts::id.nullable());
    let their_interviews = interviews::table
        .filter(interviews::participant_id.eq(participant))
        .select(interviews::id.nullable());
    let their_requests = contact_requests::table
        .filter(contact_requests::participant_id.eq(participant))
        .select(contact_requests::id.nullable());
    let their_messages = messages::table
        .filter(messages::participant_id.eq(participant))
        .select(messages::id.nullable());
    let about = outbox::subject_type
        .eq("alert")
        .and(outbox::subject_id.eq_any(their_alerts))
        .or(outbox::subject_type
            .eq("interview")
            .and(outbox::subject_id.eq_any(their_interviews)))
        .or(outbox::subject_type
            .eq("contact_request")
            .and(outbox::subject_id.eq_any(their_requests)))
        .or(outbox::subject_type
            .eq("message")
            .and(outbox::subject_id.eq_any(their_messages)))
        .or(outbox::subject_type
            .eq("participant")
            .and(outbox::subject_id.eq(participant)));
    Ok(diesel::update(
        outbox::table
            .filter(outbox::recipient_kind.eq("staff"))
            .filter(outbox::recipient_id.eq(staff_id))
            .filter(outbox::status.eq("pending"))
            .filter(about),
    )
    .set((outbox::status.eq("cancelled"), outbox::updated_at.eq(now)))
    .execute(conn)?)
}
