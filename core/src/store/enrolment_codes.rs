//! Enrolment codes: issued by a specialist, exchanged once by the participant's app.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::StoreError;
use crate::db::DbConnection;
use crate::domain::enrolment_code;
use crate::schema::{enrolment_codes, participants};

#[derive(Debug, Insertable)]
#[diesel(table_name = enrolment_codes)]
struct NewCode {
    participant_id: i64,
    code_hash: String,
    created_by: i64,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// A freshly issued code, in display form; it exists nowhere else once this value is dropped.
#[derive(Debug)]
pub struct IssuedCode {
    pub code: String,
    pub expires_at: NaiveDateTime,
}

/// Makes every unused code of a participant stop working (a new code was issued, or they withdrew).
pub fn revoke_unused(
    conn: &mut DbConnection,
    participant_id: i64,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        enrolment_codes::table
            .filter(enrolment_codes::participant_id.eq(participant_id))
            .filter(enrolment_codes::used_at.is_null())
            .filter(enrolment_codes::revoked_at.is_null()),
    )
    .set(enrolment_codes::revoked_at.eq(now))
    .execute(conn)?)
}

/// Issues a new code and revokes any earlier unused one, so only the newest works.
pub fn issue(
    conn: &mut DbConnection,
    participant_id: i64,
    issued_by: i64,
    ttl: Duration,
    now: NaiveDateTime,
) -> Result<IssuedCode, StoreError> {
    revoke_unused(conn, participant_id, now)?;

    // A collision between two live codes is a one-in-10^11 event; try again rather than fail.
    for _ in 0..3 {
        let code = enrolment_code::generate();
        let canonical = enrolment_code::normalise(&code)
            .ok_or_else(|| anyhow::anyhow!("a generated enrolment code did not normalise"))?;
        let new = NewCode {
            participant_id,
            code_hash: enrolment_code::hash(&canonical),
            created_by: issued_by,
            created_at: now,
            expires_at: now + ttl,
        };
        match diesel::insert_into(enrolment_codes::table)
            .values(&new)
            .execute(conn)
        {
            Ok(_) => {
                return Ok(IssuedCode {
                    code,
                    expires_at: new.expires_at,
                })
            }
            Err(e) => match StoreError::from(e) {
                StoreError::Conflict(_) => continue,
                other => return Err(other),
            },
        }
    }
    Err(StoreError::Internal(anyhow::anyhow!(
        "could not issue a unique enrolment code"
    )))
}

/// Spends a code: the participant it belongs to, or `None` when it is unknown, used, revoked,
/// expired, or its participant has withdrawn. The update is conditional, so two apps racing
/// with the same code cannot both win.
pub fn redeem(
    conn: &mut DbConnection,
    canonical_code: &str,
    now: NaiveDateTime,
) -> Result<Option<i64>, StoreError> {
    let hash = enrolment_code::hash(canonical_code);
    let found: Option<(i64, i64)> = enrolment_codes::table
        .inner_join(participants::table)
        .filter(enrolment_codes::code_hash.eq(&hash))
        .filter(enrolment_codes::used_at.is_null())
        .filter(enrolment_codes::revoked_at.is_null())
        .filter(enrolment_codes::expires_at.gt(now))
        .filter(participants::withdrawn_at.is_null())
        .select((enrolment_codes::id, enrolment_codes::participant_id))
        .first(conn)
        .optional()?;
    let Some((code_id, participant_id)) = found else {
        return Ok(None);
    };
    let spent = diesel::update(
        enrolment_codes::table
            .find(code_id)
            .filter(enrolment_codes::used_at.is_null()),
    )
    .set(enrolment_codes::used_at.eq(now))
    .execute(conn)?;
    Ok((spent == 1).then_some(participant_id))
}

/// An enrolment code's history, without the code or its hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = enrolment_codes)]
pub struct CodeRecord {
    pub id: i64,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Every code issued to a participant, newest first (at most a handful: each reissue is one).
pub fn history_of(
    conn: &mut DbConnection,
    participant_id: i64,
) -> Result<Vec<CodeRecord>, StoreError> {
    Ok(enrolment_codes::table
        .filter(enrolment_codes::participant_id.eq(participant_id))
        .select(CodeRecord::as_select())
        .order(enrolment_codes::id.desc())
        .load(conn)?)
}
