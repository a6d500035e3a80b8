//! Push devices: the push token of one app install, owned by a participant or a staff member and
//! tied to the session that registered it.
//!
//! Two rules hold the table together. A token exists once: registering a known token moves its
//! row to whoever registered it last, because a phone that changed hands or an app that was
//! reinstalled must not keep pushing to the previous person. And a session has at most one
//! device: an app that registers a new token from the same session replaces its old token
//! rather than collecting rows that would each get the same push.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::sessions::Subject;
use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::domain::Platform;
use crate::schema::devices;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: i64,
    pub participant_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub session_id: Option<i64>,
    pub platform: String,
    pub token: String,
    pub app_version: String,
    pub locale: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_registered_at: NaiveDateTime,
}

/// What an app sends when it registers its push token.
#[derive(Debug, Clone)]
pub struct Registration {
    pub platform: Platform,
    pub token: String,
    pub app_version: String,
    pub locale: String,
}

/// Whether a registration made a new row or took over an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Created,
    Updated,
}

/// Changes to one's own device; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DeviceChanges {
    pub token: Option<String>,
    pub app_version: Option<String>,
    pub locale: Option<String>,
}

fn owner_columns(owner: Subject) -> (Option<i64>, Option<i64>) {
    match owner {
        Subject::Participant(id) => (Some(id), None),
        Subject::Staff(id) => (None, Some(id)),
    }
}

fn find_by_token(conn: &mut DbConnection, token: &str) -> Result<Option<Device>, StoreError> {
    Ok(devices::table
        .filter(devices::token.eq(token))
        .select(Device::as_select())
        .first(conn)
        .optional()?)
}

fn find_by_session(conn: &mut DbConnection, session_id: i64) -> Result<Option<Device>, StoreError> {
    Ok(devices::table
        .filter(devices::session_id.eq(session_id))
        .select(Device::as_select())
        .first(conn)
        .optional()?)
}

/// Registers `registration.token` for `owner`'s session `session_id`: the token's existing row,
/// whoever had it, or else the session's existing device, is taken over and re-enabled; only
/// when neither exists is a row created. Run inside a write transaction.
pub fn register(
    conn: &mut DbConnection,
    owner: Subject,
    session_id: i64,
    registration: Registration,
    now: NaiveDateTime,
) -> Result<(Device, Registered), StoreError> {
    let (participant_id, staff_id) = owner_columns(owner);
    let by_token = find_by_token(conn, &registration.token)?;
    let by_session = find_by_session(conn, session_id)?;
    let target = match (&by_token, &by_session) {
        (Some(token_row), Some(session_row)) if token_row.id != session_row.id => {
            // The session's old token is superseded by one that already had a row: keep that row.
            delete_by_id(conn, session_row.id)?;
            Some(token_row.id)
        }
        (Some(row), _) | (None, Some(row)) => Some(row.id),
        (None, None) => None,
    };
    let values = (
        devices::participant_id.eq(participant_id),
        devices::staff_id.eq(staff_id),
        devices::session_id.eq(Some(session_id)),
        devices::platform.eq(registration.platform.as_str()),
        devices::token.eq(registration.token),
        devices::app_version.eq(registration.app_version),
        devices::locale.eq(registration.locale),
        devices::enabled.eq(true),
        devices::disabled_reason.eq(None::<String>),
        devices::updated_at.eq(now),
        devices::last_registered_at.eq(now),
    );
    match target {
        Some(id) => {
            diesel::update(devices::table.find(id))
                .set(values)
                .execute(conn)?;
            Ok((get(conn, id)?, Registered::Updated))
        }
        None => {
            // Two first registrations of one token may race (PostgreSQL runs them side by side):
            // the later one updates the row the earlier one made instead of failing.
            let id: i64 = crate::per_backend!(conn, |c| diesel::insert_into(devices::table)
                .values((values.clone(), devices::created_at.eq(now)))
                .on_conflict(devices::token)
                .do_update()
                .set(values.clone())
                .returning(devices::id)
                .get_result(c))?;
            Ok((get(conn, id)?, Registered::Created))
        }
    }
}

fn get(conn: &mut DbConnection, id: i64) -> Result<Device, StoreError> {
    Ok(devices::table
        .find(id)
        .select(Device::as_select())
        .first(conn)?)
}

/// One of `owner`'s devices; anyone else's (or a missing one) is `NotFound`.
pub fn get_own(conn: &mut DbConnection, owner: Subject, id: i64) -> Result<Device, StoreError> {
    let query = devices::table
        .filter(devices::id.eq(id))
        .select(Device::as_select());
    Ok(match owner {
        Subject::Participant(p) => query.filter(devices::participant_id.eq(p)).first(conn)?,
        Subject::Staff(s) => query.filter(devices::staff_id.eq(s)).first(conn)?,
    })
}

/// `owner`'s devices, newest first.
pub fn list_own(
    conn: &mut DbConnection,
    owner: Subject,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<Device>, StoreError> {
    let mut query = devices::table
        .select(Device::as_select())
        .order(devices::id.desc())
        .limit(limit + 1)
        .into_boxed();
    query = match owner {
        Subject::Participant(id) => query.filter(devices::participant_id.eq(id)),
        Subject::Staff(id) => query.filter(devices::staff_id.eq(id)),
    };
    if let Some(after) = after {
        query = query.filter(devices::id.lt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |d| d.id))
}

/// Changes one of `owner`'s devices. A new token (the provider rotated it) re-enables the device,
/// and a row that already held that token is removed: the token now belongs to this device.
pub fn update_own(
    conn: &mut DbConnection,
    owner: Subject,
    id: i64,
    changes: DeviceChanges,
    now: NaiveDateTime,
) -> Result<Device, StoreError> {
    let current = get_own(conn, owner, id)?;
    let new_token = changes.token.filter(|t| *t != current.token);
    if let Some(token) = &new_token {
        diesel::delete(
            devices::table
                .filter(devices::token.eq(token))
                .filter(devices::id.ne(id)),
        )
        .execute(conn)?;
    }
    let rotated = new_token.is_some();
    diesel::update(devices::table.find(id))
        .set((
            devices::token.eq(new_token.unwrap_or(current.token)),
            devices::app_version.eq(changes.app_version.unwrap_or(current.app_version)),
            devices::locale.eq(changes.locale.unwrap_or(current.locale)),
            devices::enabled.eq(rotated || current.enabled),
            devices::disabled_reason.eq(if rotated {
                None
            } else {
                current.disabled_reason
            }),
            devices::updated_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, id)
}

/// Removes one of `owner`'s devices; anyone else's (or a missing one) is `NotFound`.
pub fn delete_own(conn: &mut DbConnection, owner: Subject, id: i64) -> Result<(), StoreError> {
    let query = devices::table.filter(devices::id.eq(id));
    let deleted = match owner {
        Subject::Participant(p) => {
            diesel::delete(query.filter(devices::participant_id.eq(p))).execute(conn)?
        }
        Subject::Staff(s) => diesel::delete(query.filter(devices::staff_id.eq(s))).execute(conn)?,
    };
    if deleted == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

fn delete_by_id(conn: &mut DbConnection, id: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(devices::table.find(id)).execute(conn)?)
}

/// Removes the devices registered by these sessions, as the sessions end: a logged-out or
/// revoked session's phone gets no more pushes.
pub fn delete_for_sessions(
    conn: &mut DbConnection,
    session_ids: &[i64],
) -> Result<usize, StoreError> {
    if session_ids.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::delete(devices::table.filter(devices::session_id.eq_any(session_ids)))
            .execute(conn)?,
    )
}

/// Removes every device of `owner`, whatever session registered it (a withdrawal).
pub fn delete_all_of(conn: &mut DbConnection, owner: Subject) -> Result<usize, StoreError> {
    Ok(match owner {
        Subject::Participant(id) => {
            diesel::delete(devices::table.filter(devices::participant_id.eq(id))).execute(conn)?
        }
        Subject::Staff(id) => {
            diesel::delete(devices::table.filter(devices::staff_id.eq(id))).execute(conn)?
        }
    })
}

/// A device a notification can be pushed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub device_id: i64,
    pub platform: String,
    pub token: String,
}

/// The enabled devices of these people whose session is still live: where their pushes may go,
/// each person's in device order. Two queries (participants', staff's) however many people.
pub fn push_targets(
    conn: &mut DbConnection,
    owners: &[Subject],
    now: NaiveDateTime,
) -> Result<std::collections::HashMap<Subject, Vec<PushTarget>>, StoreError> {
    use crate::schema::sessions;
    let mut targets: std::collections::HashMap<Subject, Vec<PushTarget>> =
        std::collections::HashMap::new();
    let mut participant_ids = Vec::new();
    let mut staff_ids = Vec::new();
    for owner in owners {
        match owner {
            Subject::Participant(id) => participant_ids.push(*id),
            Subject::Staff(id) => staff_ids.push(*id),
        }
    }
    participant_ids.sort_unstable();
    participant_ids.dedup();
    staff_ids.sort_unstable();
    staff_ids.dedup();
    let live = || {
        devices::table
            .inner_join(sessions::table)
            .filter(devices::enabled.eq(true))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::refresh_expires_at.gt(now))
            .select((
                devices::participant_id,
                devices::staff_id,
                devices::id,
                devices::platform,
                devices::token,
            ))
            .order(devices::id)
    };
    type Row = (Option<i64>, Option<i64>, i64, String, String);
    let mut rows: Vec<Row> = Vec::new();
    for chunk in participant_ids.chunks(super::bulk::ROWS_PER_STATEMENT) {
        rows.extend(
            live()
                .filter(devices::participant_id.eq_any(chunk))
                .load::<Row>(conn)?,
        );
    }
    for chunk in staff_ids.chunks(super::bulk::ROWS_PER_STATEMENT) {
        rows.extend(
            live()
                .filter(devices::staff_id.eq_any(chunk))
                .load::<Row>(conn)?,
        );
    }
    for (participant, staff, device_id, platform, token) in rows {
        let owner = match (participant, staff) {
            (Some(id), _) => Subject::Participant(id),
            (None, Some(id)) => Subject::Staff(id),
            (None, None) => continue,
        };
        targets.entry(owner).or_default().push(PushTarget {
            device_id,
            platform,
            token,
        });
    }
    Ok(targets)
}

/// Stops pushing to a device the provider says is gone (uninstalled app, expired token).
pub fn disable(
    conn: &mut DbConnection,
    id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(devices::table.find(id))
        .set((
            devices::enabled.eq(false),
            devices::disabled_reason.eq(reason),
            devices::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
