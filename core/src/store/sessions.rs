//! Sessions: one per login or enrolled device, holding the hashes of its current access and
//! refresh tokens. Refresh rotates both; a refresh token presented twice ends the session.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{devices, Page, StoreError};
use crate::db::DbConnection;
use crate::domain::tokens::{self, TokenKind};
use crate::domain::Role;
use crate::schema::{participants, sessions, staff, used_refresh_tokens};

/// Whose session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Staff(i64),
    Participant(i64),
}

/// Why a session ended; stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    Revoked,
    RefreshReuse,
    StaffDeactivated,
    Withdrawn,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::Revoked => "revoked",
            RevokeReason::RefreshReuse => "refresh_reuse",
            RevokeReason::StaffDeactivated => "staff_deactivated",
            RevokeReason::Withdrawn => "withdrawn",
        }
    }
}

/// Lifetimes for a new or refreshed session.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access: Duration,
    pub staff_idle: Duration,
    pub participant_idle: Duration,
}

impl Lifetimes {
    fn refresh_for(&self, subject: Subject) -> Duration {
        match subject {
            Subject::Staff(_) => self.staff_idle,
            Subject::Participant(_) => self.participant_idle,
        }
    }
}

/// What a client gets at login, enrolment and refresh. The tokens exist only in this value.
#[derive(Debug)]
pub struct IssuedTokens {
    pub session_id: i64,
    pub access_token: String,
    pub refresh_token: String,
    pub access_expires_at: NaiveDateTime,
    pub refresh_expires_at: NaiveDateTime,
}

/// The authenticated caller behind an access token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub session_id: i64,
    pub subject: Subject,
    /// The staff member's role; `None` for a participant.
    pub role: Option<Role>,
    /// The staff member's team, or the participant's.
    pub team_id: Option<i64>,
    /// When the access token stops working (a cache of principals must not outlive it).
    pub access_expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionInfo {
    pub id: i64,
    pub device_label: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub refresh_expires_at: NaiveDateTime,
}

pub enum RefreshOutcome {
    Rotated(IssuedTokens),
    /// The token was already used: this session has now been revoked.
    Reused {
        session_id: i64,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

fn new_token_pair() -> (String, String) {
    (
        tokens::generate(TokenKind::Access),
        tokens::generate(TokenKind::Refresh),
    )
}

pub fn create(
    conn: &mut DbConnection,
    subject: Subject,
    device_label: Option<String>,
    lifetimes: &Lifetimes,
    now: NaiveDateTime,
) -> Result<IssuedTokens, StoreError> {
    let (access, refresh) = new_token_pair();
    let (staff_id, participant_id) = match subject {
        Subject::Staff(id) => (Some(id), None),
        Subject::Participant(id) => (None, Some(id)),
    };
    let access_expires_at = now + lifetimes.access;
    let refresh_expires_at = now + lifetimes.refresh_for(subject);
    let session_id: i64 = diesel::insert_into(sessions::table)
        .values((
            sessions::staff_id.eq(staff_id),
            sessions::participant_id.eq(participant_id),
            sessions::device_label.eq(device_label),
            sessions::created_at.eq(now),
            sessions::last_used_at.eq(now),
            sessions::access_token_hash.eq(tokens::hash(&access)),
            sessions::access_expires_at.eq(access_expires_at),
            sessions::refresh_token_hash.eq(tokens::hash(&refresh)),
            sessions::refresh_expires_at.eq(refresh_expires_at),
        ))
        .returning(sessions::id)
        .get_result(conn)?;
    Ok(IssuedTokens {
        session_id,
        access_token: access,
        refresh_token: refresh,
        access_expires_at,
        refresh_expires_at,
    })
}

/// The one query behind every authenticated request: the live session whose access token
/// hashes to `access_hash`, with its staff member's current role and team, or its participant.
pub fn authenticate(
    conn: &mut DbConnection,
    access_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<Principal>, StoreError> {
    type Row = (
        i64,
        NaiveDateTime,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<bool>,
        Option<i64>,
        Option<NaiveDateTime>,
    );
    let row: Option<Row> = sessions::table
        .left_join(staff::table)
        .left_join(participants::table)
        .filter(sessions::access_token_hash.eq(access_hash))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::access_expires_at.gt(now))
        .select((
            sessions::id,
            sessions::access_expires_at,
            sessions::staff_id,
            sessions::participant_id,
            staff::role.nullable(),
            staff::team_id.nullable(),
            staff::active.nullable(),
            participants::team_id.nullable(),
            participants::withdrawn_at.nullable(),
        ))
        .first(conn)
        .optional()?;
    let Some((
        session_id,
        access_expires_at,
        staff_id,
        participant_id,
        role,
        staff_team,
        active,
        participant_team,
        withdrawn,
    )) = row
    else {
        return Ok(None);
    };
    let principal = match (staff_id, participant_id) {
        (Some(id), None) if active == Some(true) => {
            let role = role.as_deref().and_then(Role::parse);
            role.map(|role| Principal {
                session_id,
                subject: Subject::Staff(id),
                role: Some(role),
                team_id: staff_team,
                access_expires_at,
            })
        }
        // The foreign key guarantees the participant row; no withdrawal date means still enrolled.
        (None, Some(id)) if withdrawn.is_none() => Some(Principal {
            session_id,
            subject: Subject::Participant(id),
            role: None,
            team_id: participant_team,
            access_expires_at,
        }),
        _ => None,
    };
    Ok(principal)
}

/// Exchanges a refresh token for a new pair. Run inside a write transaction.
pub fn refresh(
    conn: &mut DbConnection,
    refresh_token: &str,
    lifetimes: &Lifetimes,
    now: NaiveDateTime,
) -> Result<RefreshOutcome, StoreError> {
    let presented = tokens::hash(refresh_token);
    let current: Option<(i64, Option<i64>, Option<NaiveDateTime>, NaiveDateTime)> = sessions::table
        .filter(sessions::refresh_token_hash.eq(&presented))
        .select((
            sessions::id,
            sessions::staff_id,
            sessions::revoked_at,
            sessions::refresh_expires_at,
        ))
        .first(conn)
        .optional()?;

    let Some((session_id, staff_id, revoked_at, refresh_expires_at)) = current else {
        // Not current: if it was current once, someone is replaying it. End that session.
        let reused: Option<i64> = used_refresh_tokens::table
            .find(&presented)
            .select(used_refresh_tokens::session_id)
            .first(conn)
            .optional()?;
        return match reused {
            Some(session_id) => {
                revoke(conn, session_id, RevokeReason::RefreshReuse, now)?;
                Ok(RefreshOutcome::Reused { session_id })
            }
            None => Ok(RefreshOutcome::Invalid),
        };
    };
    if revoked_at.is_some() || refresh_expires_at <= now {
        return Ok(RefreshOutcome::Invalid);
    }
    let idle = if staff_id.is_some() {
        lifetimes.staff_idle
    } else {
        lifetimes.participant_idle
    };
    let (access, refresh) = new_token_pair();
    let access_expires_at = now + lifetimes.access;
    let refresh_expires_at = now + idle;
    // Compare-and-set on the presented hash: of two concurrent refreshes with one token, one wins.
    let rotated = diesel::update(
        sessions::table
            .filter(sessions::id.eq(session_id))
            .filter(sessions::refresh_token_hash.eq(&presented))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::access_token_hash.eq(tokens::hash(&access)),
        sessions::access_expires_at.eq(access_expires_at),
        sessions::refresh_token_hash.eq(tokens::hash(&refresh)),
        sessions::refresh_expires_at.eq(refresh_expires_at),
        sessions::last_used_at.eq(now),
    ))
    .execute(conn)?;
    if rotated != 1 {
        revoke(conn, session_id, RevokeReason::RefreshReuse, now)?;
        return Ok(RefreshOutcome::Reused { session_id });
    }
    diesel::insert_into(used_refresh_tokens::table)
        .values((
            used_refresh_tokens::token_hash.eq(&presented),
            used_refresh_tokens::session_id.eq(session_id),
            used_refresh_tokens::used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(RefreshOutcome::Rotated(IssuedTokens {
        session_id,
        access_token: access,
        refresh_token: refresh,
        access_expires_at,
        refresh_expires_at,
    }))
}

/// Ends one session at once: its access token stops working on the next request, and the push
/// device it registered is removed, so a lost or logged-out phone gets no more notifications.
pub fn revoke(
    conn: &mut DbConnection,
    session_id: i64,
    reason: RevokeReason,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason.as_str()),
    ))
    .execute(conn)?;
    devices::delete_for_sessions(conn, &[session_id])?;
    Ok(changed == 1)
}

/// Ends one of the subject's own sessions; `NotFound` for anyone else's (or an ended one).
pub fn revoke_own(
    conn: &mut DbConnection,
    subject: Subject,
    session_id: i64,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let ids = live_ids(conn, subject, Some(session_id), None)?;
    if ids.is_empty() {
        return Err(StoreError::NotFound);
    }
    end_sessions(conn, &ids, RevokeReason::Revoked, now)?;
    Ok(())
}

/// Ends every session of a subject (a deactivated account, a withdrawn participant).
pub fn revoke_all(
    conn: &mut DbConnection,
    subject: Subject,
    reason: RevokeReason,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let ids = live_ids(conn, subject, None, None)?;
    end_sessions(conn, &ids, reason, now)
}

/// Ends every session of a subject but one (after a password change, all but the current).
pub fn revoke_all_except(
    conn: &mut DbConnection,
    subject: Subject,
    keep: i64,
    reason: RevokeReason,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let ids = live_ids(conn, subject, None, Some(keep))?;
    end_sessions(conn, &ids, reason, now)
}

/// The ids of the subject's unrevoked sessions, narrowed to `only` or all but `except`.
fn live_ids(
    conn: &mut DbConnection,
    subject: Subject,
    only: Option<i64>,
    except: Option<i64>,
) -> Result<Vec<i64>, StoreError> {
    let mut query = sessions::table
        .filter(sessions::revoked_at.is_null())
        .select(sessions::id)
        .into_boxed();
    query = match subject {
        Subject::Staff(id) => query.filter(sessions::staff_id.eq(id)),
        Subject::Participant(id) => query.filter(sessions::participant_id.eq(id)),
    };
    if let Some(id) = only {
        query = query.filter(sessions::id.eq(id));
    }
    if let Some(id) = except {
        query = query.filter(sessions::id.ne(id));
    }
    Ok(query.load(conn)?)
}

/// Revokes these sessions and removes the push devices they registered, in the caller's transaction.
fn end_sessions(
    conn: &mut DbConnection,
    ids: &[i64],
    reason: RevokeReason,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let ended = diesel::update(
        sessions::table
            .filter(sessions::id.eq_any(ids))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason.as_str()),
    ))
    .execute(conn)?;
    devices::delete_for_sessions(conn, ids)?;
    Ok(ended)
}

/// The subject's live sessions, newest first.
pub fn list_live(
    conn: &mut DbConnection,
    subject: Subject,
    after: Option<i64>,
    limit: i64,
    now: NaiveDateTime,
) -> Result<Page<SessionInfo>, StoreError> {
    let mut query = sessions::table
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::refresh_expires_at.gt(now))
        .select(SessionInfo::as_select())
        .order(sessions::id.desc())
        .limit(limit + 1)
        .into_boxed();
    query = match subject {
        Subject::Staff(id) => query.filter(sessions::staff_id.eq(id)),
        Subject::Participant(id) => query.filter(sessions::participant_id.eq(id)),
    };
    if let Some(after) = after {
        query = query.filter(sessions::id.lt(after));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |s| s.id))
}

/// Deletes sessions that ended (expired or revoked) before `before`; their used tokens go with them.
pub fn purge_ended_before(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<usize, StoreError> {
    let ended = sessions::table.filter(
        sessions::refresh_expires_at
            .lt(before)
            .or(sessions::revoked_at.lt(before)),
    );
    let ids: Vec<i64> = ended.select(sessions::id).limit(10_000).load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(used_refresh_tokens::table.filter(used_refresh_tokens::session_id.eq_any(&ids)))
        .execute(conn)?;
    // An expired session's app is logged out: its push device goes with it.
    devices::delete_for_sessions(conn, &ids)?;
    Ok(diesel::delete(sessions::table.filter(sessions::id.eq_any(&ids))).execute(conn)?)
}

/// A session as its owner may see it, ended ones included; never its token hashes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRecord {
    pub id: i64,
    pub device_label: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub refresh_expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

/// Every session of the subject still stored, live or ended, newest first (housekeeping removes
/// ended ones after a while, so this stays short).
pub fn history_of(
    conn: &mut DbConnection,
    subject: Subject,
) -> Result<Vec<SessionRecord>, StoreError> {
    let query = sessions::table
        .select(SessionRecord::as_select())
        .order(sessions::id.desc())
        .into_boxed();
    let query = match subject {
        Subject::Staff(id) => query.filter(sessions::staff_id.eq(id)),
        Subject::Participant(id) => query.filter(sessions::participant_id.eq(id)),
    };
    Ok(query.load(conn)?)
}
