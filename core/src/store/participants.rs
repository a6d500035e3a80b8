//! Participants and the one rule of who among staff may see them (the caseload).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, StoreError};
use diesel::sql_types::Bool;

use crate::db::{DbConnection, MultiBackend};
use crate::domain::Role;
use crate::schema::participants;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participants)]
pub struct Participant {
    pub id: i64,
    pub team_id: i64,
    pub specialist_id: i64,
    pub display_name: String,
    pub preferred_language: String,
    pub time_zone: String,
    pub birth_year: Option<i32>,
    pub status: String,
    pub enrolled_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub created_by: i64,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = participants)]
pub struct NewParticipant {
    pub team_id: i64,
    pub specialist_id: i64,
    pub display_name: String,
    pub preferred_language: String,
    pub time_zone: String,
    pub birth_year: Option<i32>,
    pub status: String,
    pub enrolled_at: NaiveDateTime,
    pub created_by: i64,
    pub updated_at: NaiveDateTime,
}

/// Which participants a staff member may see. This is the only place the rule is written:
/// a specialist sees their own caseload, a supervisor their team's, an administrator none
/// (administrators manage accounts, not people's cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caseload {
    OfSpecialist(i64),
    OfTeam(i64),
    Nobody,
}

impl Caseload {
    pub fn of(staff_id: i64, role: Role, team_id: Option<i64>) -> Self {
        match (role, team_id) {
            (Role::Specialist, _) => Caseload::OfSpecialist(staff_id),
            (Role::Supervisor, Some(team)) => Caseload::OfTeam(team),
            _ => Caseload::Nobody,
        }
    }

    /// The rule as a SQL condition, for queries that filter or join participants.
    pub fn condition(
        self,
    ) -> Box<dyn BoxableExpression<participants::table, MultiBackend, SqlType = Bool>> {
        match self {
            Caseload::OfSpecialist(id) => Box::new(participants::specialist_id.eq(id)),
            Caseload::OfTeam(team) => Box::new(participants::team_id.eq(team)),
            Caseload::Nobody => Box::new(participants::id.lt(0)),
        }
    }
}

pub fn create(conn: &mut DbConnection, new: NewParticipant) -> Result<Participant, StoreError> {
    let id = diesel::insert_into(participants::table)
        .values(&new)
        .returning(participants::id)
        .get_result(conn)?;
    get(conn, id)
}

/// A participant by id, for their own session (no caseload check: the id comes from the session).
pub fn get(conn: &mut DbConnection, id: i64) -> Result<Participant, StoreError> {
    Ok(participants::table
        .find(id)
        .select(Participant::as_select())
        .first(conn)?)
}

/// A participant by id if `caseload` includes them; otherwise `NotFound`, exactly as if the id
/// did not exist, so staff cannot learn who is in another caseload.
pub fn get_in_caseload(
    conn: &mut DbConnection,
    id: i64,
    caseload: Caseload,
) -> Result<Participant, StoreError> {
    Ok(participants::table
        .filter(participants::id.eq(id))
        .filter(caseload.condition())
        .select(Participant::as_select())
        .first(conn)?)
}

pub fn list_in_caseload(
    conn: &mut DbConnection,
    caseload: Caseload,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<Participant>, StoreError> {
    let mut query = participants::table
        .select(Participant::as_select())
        .order(participants::id)
        .limit(limit + 1)
        .filter(caseload.condition())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(participants::id.gt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |p| p.id))
}

/// Sets or clears the hash of the participant's calendar-feed token (a new one replaces the old).
pub fn set_calendar_feed(
    conn: &mut DbConnection,
    id: i64,
    token_hash: Option<String>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(participants::table.find(id))
        .set((
            participants::calendar_feed_token_hash.eq(token_hash),
            participants::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The enrolled participant whose calendar-feed token hashes to `token_hash`.
pub fn by_calendar_feed(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<Participant>, StoreError> {
    Ok(participants::table
        .filter(participants::calendar_feed_token_hash.eq(token_hash))
        .filter(participants::withdrawn_at.is_null())
        .select(Participant::as_select())
        .first(conn)
        .optional()?)
}
