//! Staff access to one participant's data, the same on every route: specialists and supervisors
//! only (anyone else is 403), only a participant of the caller's caseload (anyone else is 404,
//! like a participant who does not exist), and every access recorded in the audit trail in the
//! same transaction as the access itself, so nothing is read or changed unrecorded.

use actix_web::HttpRequest;
use ips_core::domain::Role;
use ips_core::store::audit::{self, Actor, Entry};
use ips_core::store::now;
use ips_core::store::participants::{self, Caseload, Participant};
use ips_core::Db;
use ips_core::{DbConnection, StoreError};

use crate::auth::{request_id, StaffCaller};
use crate::problem::ApiError;

/// The roles that work a caseload.
pub(super) const CASELOAD_ROLES: &[Role] = &[Role::Specialist, Role::Supervisor];

/// A specialist or supervisor at work on their caseload, with what recording their access needs.
#[derive(Debug, Clone)]
pub(super) struct CaseloadAccess {
    /// The staff member's id.
    pub id: i64,
    caseload: Caseload,
    pub request_id: Option<String>,
}

impl CaseloadAccess {
    /// The caller, if their role works a caseload (otherwise 403).
    pub fn of(caller: &StaffCaller, req: &HttpRequest) -> Result<Self, ApiError> {
        caller.require(CASELOAD_ROLES)?;
        Ok(CaseloadAccess {
            id: caller.id,
            caseload: caller.caseload(),
            request_id: request_id(req),
        })
    }

    /// The participant, if in the caller's caseload (`NotFound` otherwise).
    pub fn reach(
        &self,
        conn: &mut DbConnection,
        participant_id: i64,
    ) -> Result<Participant, StoreError> {
        participants::get_in_caseload(conn, participant_id, self.caseload)
    }

    /// Records `action` on the participant's data, naming the record it concerns if one.
    pub fn record(
        &self,
        conn: &mut DbConnection,
        action: &'static str,
        participant_id: i64,
        subject: Option<(&'static str, i64)>,
    ) -> Result<(), StoreError> {
        record(
            conn,
            Actor::Staff(self.id),
            action,
            participant_id,
            subject,
            self.request_id.as_deref(),
        )
    }

    /// Reads a participant's data: the caseload check, `read` and its audit entry in one write
    /// transaction, so the read happens only if it is recorded.
    pub async fn read<T, F>(
        self,
        db: &Db,
        participant_id: i64,
        action: &'static str,
        read: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, Participant) -> Result<T, StoreError> + Send + 'static,
    {
        let found = db
            .write(move |conn| {
                let participant = self.reach(conn, participant_id)?;
                let found = read(conn, participant)?;
                self.record(conn, action, participant_id, None)?;
                Ok(found)
            })
            .await?;
        Ok(found)
    }
}

/// One audit entry: who did `action` to which participant's data, and to which record of it.
pub(super) fn record(
    conn: &mut DbConnection,
    actor: Actor,
    action: &'static str,
    participant_id: i64,
    subject: Option<(&'static str, i64)>,
    request_id: Option<&str>,
) -> Result<(), StoreError> {
    let mut entry = Entry::new(actor, action).participant(participant_id);
    if let Some((kind, id)) = subject {
        entry = entry.subject(kind, id);
    }
    audit::record(conn, &[entry], request_id, now())
}
