//! Teams: a treatment team's IPS unit, with the contact details participants see.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::schema::teams;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = teams)]
pub struct NewTeam {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A partial update; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = teams)]
pub struct TeamChanges {
    pub name: Option<String>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn create(conn: &mut DbConnection, new: NewTeam) -> Result<Team, StoreError> {
    // `RETURNING` a whole struct is not expressible through the combined connection; ids are.
    let id = diesel::insert_into(teams::table)
        .values(&new)
        .returning(teams::id)
        .get_result(conn)?;
    get(conn, id)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Team, StoreError> {
    Ok(teams::table
        .find(id)
        .select(Team::as_select())
        .first(conn)?)
}

pub fn exists(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(teams::table.find(id))).get_result(conn)?)
}

pub fn list(
    conn: &mut DbConnection,
    only: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<Team>, StoreError> {
    let mut query = teams::table
        .select(Team::as_select())
        .order(teams::id)
        .limit(limit + 1)
        .into_boxed();
    if let Some(team) = only {
        query = query.filter(teams::id.eq(team));
    }
    if let Some(after) = after {
        query = query.filter(teams::id.gt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |t| t.id))
}

pub fn update(conn: &mut DbConnection, id: i64, changes: TeamChanges) -> Result<Team, StoreError> {
    let id = diesel::update(teams::table.find(id))
        .set(&changes)
        .returning(teams::id)
        .get_result(conn)?;
    get(conn, id)
}
