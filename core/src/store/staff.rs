//! Staff accounts: job specialists, supervisors and administrators.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::domain::Role;
use crate::schema::staff;

/// A staff member as anyone may be shown them: never the password hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff)]
pub struct StaffMember {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub team_id: Option<i64>,
    pub phone: Option<String>,
    pub working_hours: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl StaffMember {
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = staff)]
pub struct NewStaff {
    pub email: String,
    pub name: String,
    pub role: String,
    pub team_id: Option<i64>,
    pub phone: Option<String>,
    pub working_hours: Option<String>,
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = staff)]
pub struct StaffChanges {
    pub name: Option<String>,
    pub role: Option<String>,
    pub team_id: Option<Option<i64>>,
    pub phone: Option<Option<String>>,
    pub working_hours: Option<Option<String>>,
    pub password_hash: Option<String>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// E-mail addresses are compared without case: `Kari@Example.no` and `kari@example.no` are one account.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Creates an active account with no phone or working hours yet, as an operator makes one from
/// the command line (`ips admin create-staff`); tests and benchmarks seed their staff with it too.
pub fn create_active(
    conn: &mut DbConnection,
    email: String,
    name: String,
    role: Role,
    team_id: Option<i64>,
    password_hash: String,
) -> Result<StaffMember, StoreError> {
    let at = super::now();
    create(
        conn,
        NewStaff {
            email,
            name,
            role: role.as_str().to_owned(),
            team_id,
            phone: None,
            working_hours: None,
            password_hash,
            active: true,
            created_at: at,
            updated_at: at,
        },
    )
}

pub fn create(conn: &mut DbConnection, mut new: NewStaff) -> Result<StaffMember, StoreError> {
    new.email = normalise_email(&new.email);
    let id = diesel::insert_into(staff::table)
        .values(&new)
        .returning(staff::id)
        .get_result(conn)
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict("a staff member with this e-mail already exists".into())
            }
            other => other,
        })?;
    get(conn, id)
}

/// The account and its password hash, for a login; inactive accounts included (the caller decides).
pub fn find_for_login(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<(StaffMember, String)>, StoreError> {
    Ok(staff::table
        .filter(staff::email.eq(normalise_email(email)))
        .select((StaffMember::as_select(), staff::password_hash))
        .first(conn)
        .optional()?)
}

/// The account's e-mail and password hash, for checking a password change.
pub fn credentials(conn: &mut DbConnection, id: i64) -> Result<(String, String), StoreError> {
    Ok(staff::table
        .find(id)
        .select((staff::email, staff::password_hash))
        .first(conn)?)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<StaffMember, StoreError> {
    Ok(staff::table
        .find(id)
        .select(StaffMember::as_select())
        .first(conn)?)
}

pub fn list(
    conn: &mut DbConnection,
    team: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<StaffMember>, StoreError> {
    let mut query = staff::table
        .select(StaffMember::as_select())
        .order(staff::id)
        .limit(limit + 1)
        .into_boxed();
    if let Some(team) = team {
        query = query.filter(staff::team_id.eq(team));
    }
    if let Some(after) = after {
        query = query.filter(staff::id.gt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |s| s.id))
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: StaffChanges,
) -> Result<StaffMember, StoreError> {
    let id = diesel::update(staff::table.find(id))
        .set(&changes)
        .returning(staff::id)
        .get_result(conn)?;
    get(conn, id)
}

/// Active administrators, so the last one cannot be demoted or deactivated.
pub fn count_active_admins(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(staff::table
        .filter(staff::role.eq(Role::Admin.as_str()))
        .filter(staff::active.eq(true))
        .count()
        .get_result(conn)?)
}
