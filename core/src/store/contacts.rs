//! The contact log: each contact a specialist had or tried to have, with a participant or with an
//! employer. What a contact does to the plan is `store::follow_up`'s; this module holds the rows.
//!
//! Lists are newest first by when the contact happened (a contact may be logged days later), so
//! their position is the pair (contacted_at, id).

use anyhow::anyhow;
use chrono::NaiveDateTime;
use diesel::dsl::max;
use diesel::prelude::*;

use super::status_changes::ChangedBy;
use super::{alerts, follow_up, participants, StoreError};
use crate::db::DbConnection;
use crate::domain::case_status::Refusal;
use crate::domain::contacts::Party;
use crate::domain::follow_up::{self as follow_up_rules, Rules};
use crate::domain::ParticipantStatus;
use crate::schema::{contacts, staff};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts)]
pub struct Contact {
    pub id: i64,
    pub staff_id: i64,
    pub team_id: i64,
    pub participant_id: Option<i64>,
    pub party: String,
    pub channel: String,
    pub reached: bool,
    pub employer: Option<String>,
    pub location: Option<String>,
    pub duration_minutes: Option<i32>,
    pub note: Option<String>,
    pub contacted_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// A contact with the name of the staff member who logged it.
#[derive(Debug, Clone)]
pub struct LoggedContact {
    pub contact: Contact,
    pub staff_name: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = contacts)]
pub struct NewContact {
    pub staff_id: i64,
    pub team_id: i64,
    pub participant_id: Option<i64>,
    pub party: String,
    pub channel: String,
    pub reached: bool,
    pub employer: Option<String>,
    pub location: Option<String>,
    pub duration_minutes: Option<i32>,
    pub note: Option<String>,
    pub contacted_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Where a page of a contact list ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub contacted_at: NaiveDateTime,
    pub id: i64,
}

/// Whose employer contacts a staff member sees: a specialist their own, a supervisor their team's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmployerScope {
    LoggedBy(i64),
    Team(i64),
}

pub fn create(conn: &mut DbConnection, new: &NewContact) -> Result<LoggedContact, StoreError> {
    let id: i64 = diesel::insert_into(contacts::table)
        .values(new)
        .returning(contacts::id)
        .get_result(conn)?;
    let (contact, staff_name) = contacts::table
        .inner_join(staff::table.on(staff::id.eq(contacts::staff_id)))
        .filter(contacts::id.eq(id))
        .select((Contact::as_select(), staff::name))
        .first(conn)?;
    Ok(LoggedContact {
        contact,
        staff_name,
    })
}

type Found = (Vec<LoggedContact>, Option<Position>);

fn page(rows: Vec<(Contact, String)>, limit: i64) -> Found {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    let items: Vec<LoggedContact> = rows
        .into_iter()
        .take(limit)
        .map(|(contact, staff_name)| LoggedContact {
            contact,
            staff_name,
        })
        .collect();
    let next = if more {
        items.last().map(|c| Position {
            contacted_at: c.contact.contacted_at,
            id: c.contact.id,
        })
    } else {
        None
    };
    (items, next)
}

/// Every contact about a participant (with them, or with an employer about them), newest first.
pub fn list_for_participant(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<Position>,
    limit: i64,
) -> Result<Found, StoreError> {
    let mut query = contacts::table
        .inner_join(staff::table.on(staff::id.eq(contacts::staff_id)))
        .filter(contacts::participant_id.eq(participant_id))
        .select((Contact::as_select(), staff::name))
        .order((contacts::contacted_at.desc(), contacts::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(p) = after {
        query = query.filter(
            contacts::contacted_at
                .lt(p.contacted_at)
                .or(contacts::contacted_at
                    .eq(p.contacted_at)
                    .and(contacts::id.lt(p.id))),
        );
    }
    Ok(page(query.load(conn)?, limit))
}

/// Employer contacts in `scope`, newest first, optionally only those about one participant.
pub fn list_employer(
    conn: &mut DbConnection,
    scope: EmployerScope,
    participant_id: Option<i64>,
    after: Option<Position>,
    limit: i64,
) -> Result<Found, StoreError> {
    let mut query = contacts::table
        .inner_join(staff::table.on(staff::id.eq(contacts::staff_id)))
        .filter(contacts::party.eq(Party::Employer.as_str()))
        .select((Contact::as_select(), staff::name))
        .order((contacts::contacted_at.desc(), contacts::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    query = match scope {
        EmployerScope::LoggedBy(staff_id) => query.filter(contacts::staff_id.eq(staff_id)),
        EmployerScope::Team(team_id) => query.filter(contacts::team_id.eq(team_id)),
    };
    if let Some(id) = participant_id {
        query = query.filter(contacts::participant_id.eq(id));
    }
    if let Some(p) = after {
        query = query.filter(
            contacts::contacted_at
                .lt(p.contacted_at)
                .or(contacts::contacted_at
                    .eq(p.contacted_at)
                    .and(contacts::id.lt(p.id))),
        );
    }
    Ok(page(query.load(conn)?, limit))
}

/// When the participant was last reached, by any logged contact.
pub fn last_reached(
    conn: &mut DbConnection,
    participant_id: i64,
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(contacts::table
        .filter(contacts::participant_id.eq(participant_id))
        .filter(contacts::party.eq(Party::Participant.as_str()))
        .filter(contacts::reached.eq(true))
        .select(max(contacts::contacted_at))
        .first(conn)?)
}

/// Outreach attempts that did not reach the participant since the last contact that did
/// (fidelity item 25: no closure for lost contact without documented outreach).
pub fn outreach_attempts_since_reached(
    conn: &mut DbConnection,
    participant_id: i64,
) -> Result<i64, StoreError> {
    let since = last_reached(conn, participant_id)?;
    let mut query = contacts::table
        .filter(contacts::participant_id.eq(participant_id))
        .filter(contacts::party.eq(Party::Participant.as_str()))
        .filter(contacts::reached.eq(false))
        .into_boxed();
    if let Some(since) = since {
        query = query.filter(contacts::contacted_at.gt(since));
    }
    Ok(query.count().get_result(conn)?)
}

/// Logs a contact and does what it means for the participant's plan: a contact that reached the
/// participant resets the rhythm (and fulfils an agreed contact on or before its day), and may
/// agree the next one (`agreed_next`); an attempt that did not reach them is outreach and changes
/// nothing but the count; an employer contact about them ends the "no employer contact" watch.
/// Contacts about a withdrawn participant are refused; a closed case's plan stays closed.
pub fn log(
    conn: &mut DbConnection,
    new: NewContact,
    agreed_next: Option<NaiveDateTime>,
    rules: &Rules,
    now: NaiveDateTime,
) -> Result<Result<LoggedContact, Refusal>, StoreError> {
    let Some(participant_id) = new.participant_id else {
        return create(conn, &new).map(Ok);
    };
    let plan = follow_up::lock(conn, participant_id)?;
    let participant = participants::get(conn, participant_id)?;
    if participant.withdrawn_at.is_some() {
        return Ok(Err(Refusal::Conflict(
            "the participant has withdrawn".into(),
        )));
    }
    let status = ParticipantStatus::parse(&participant.status)
        .ok_or_else(|| StoreError::Internal(anyhow!("stored status {:?}", participant.status)))?;
    let with_participant = new.party == Party::Participant.as_str();
    let reached_them = with_participant && new.reached;
    if let Some(agreed) = agreed_next {
        if !reached_them {
            return Ok(Err(Refusal::Invalid {
                field: "next_contact_at",
                message: "is agreed only at a contact that reached the participant".into(),
            }));
        }
        if agreed <= new.contacted_at {
            return Ok(Err(Refusal::Invalid {
                field: "next_contact_at",
                message: "must be after the contact".into(),
            }));
        }
        if status == ParticipantStatus::Closed {
            return Ok(Err(Refusal::Conflict(
                "the case is closed; reopen it before agreeing a contact".into(),
            )));
        }
        if let Some(until) = plan.paused_until {
            let resumes = follow_up_rules::local_date(until, follow_up::time_zone(&participant));
            return Ok(Err(Refusal::Conflict(format!(
                "the case is paused until {resumes}; resume it before agreeing a contact"
            ))));
        }
    }
    let logged = create(conn, &new)?;
    if new.party == Party::Employer.as_str() {
        follow_up::end_employer_watch(conn, participant_id)?;
        // The first employer contact ends a "no employer contact" alert.
        alerts::resolve_gone_for_participant(conn, participant_id, now)?;
    }
    if reached_them && status != ParticipantStatus::Closed {
        let tz = follow_up::time_zone(&participant);
        let mut draft = plan.draft()?;
        let at = new.contacted_at;
        draft.plan.last_contact_at = Some(draft.plan.last_contact_at.map_or(at, |l| l.max(at)));
        if let Some(agreed) = draft.plan.next_contact_at {
            if follow_up_rules::fulfils_agreement(at, agreed, tz) {
                draft.plan.next_contact_at = None;
            }
        }
        if agreed_next.is_some() {
            draft.plan.next_contact_at = agreed_next;
        }
        let ctx = follow_up::Context {
            participant: &participant,
            status,
            by: ChangedBy::Staff(new.staff_id),
            now,
            rules,
        };
        follow_up::save(conn, &plan, draft, &ctx)?;
    }
    Ok(Ok(logged))
}
