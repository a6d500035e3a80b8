//! Who is asking, for the records served on both sides: by the participant's app under
//! `/v1/me/{segment}` and by the staff of their caseload under `/v1/participants/{id}/{segment}`
//! (interviews, jobs). One handler serves both; the asker says which participant it is about,
//! whether the caller may reach them, whose idempotency keys apply, where a new record lives, who
//! recorded it, and what goes into the audit trail.
//!
//! What is audited (README, "Audit"): every staff read and change, and every change the
//! participant makes to their own records, so their trail (and their export) shows who changed
//! what. A participant reading their own records is not audited: no one else saw anything.

use actix_web::HttpRequest;
use ips_core::store::audit::{self, Actor, Entry};
use ips_core::store::now;
use ips_core::store::participants::{self, Participant};
use ips_core::store::sessions::Subject;
use ips_core::store::status_changes::ChangedBy;
use ips_core::{DbConnection, StoreError};

use super::caseload_access::CaseloadAccess;
use crate::auth::{request_id, ParticipantCaller, StaffCaller};
use crate::problem::ApiError;

/// A kind of record served on both sides.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resource {
    /// Its path segment: `/v1/me/{segment}/{id}` and `/v1/participants/{pid}/{segment}/{id}`.
    pub segment: &'static str,
    /// The subject type its audit entries name.
    pub subject: &'static str,
}

#[derive(Debug, Clone)]
enum Side {
    /// The participant, about themselves.
    Participant { id: i64, request_id: Option<String> },
    /// A specialist or supervisor, about a participant who must be in their caseload.
    Staff {
        access: CaseloadAccess,
        participant_id: i64,
    },
}

/// Whether an audited action only read the participant's data or changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Change,
}

/// Who is asking, about which participant, for which kind of record.
#[derive(Debug, Clone)]
pub(super) struct Asker {
    side: Side,
    resource: Resource,
}

impl Asker {
    /// The participant, about their own records.
    pub fn own(caller: &ParticipantCaller, req: &HttpRequest, resource: Resource) -> Self {
        Asker {
            side: Side::Participant {
                id: caller.id,
                request_id: request_id(req),
            },
            resource,
        }
    }

    /// A member of staff, about a participant's records: specialists and supervisors only (403).
    pub fn staff(
        caller: StaffCaller,
        participant_id: i64,
        req: &HttpRequest,
        resource: Resource,
    ) -> Result<Self, ApiError> {
        Ok(Asker {
            side: Side::Staff {
                access: CaseloadAccess::of(&caller, req)?,
                participant_id,
            },
            resource,
        })
    }

    /// The participant's id when they ask about themselves; `None` for staff.
    pub fn as_participant(&self) -> Option<i64> {
        match self.side {
            Side::Participant { id, .. } => Some(id),
            Side::Staff { .. } => None,
        }
    }

    pub fn participant_id(&self) -> i64 {
        match self.side {
            Side::Participant { id, .. } => id,
            Side::Staff { participant_id, .. } => participant_id,
        }
    }

    /// Whose idempotency keys a request uses: the caller's own.
    pub fn subject(&self) -> Subject {
        match &self.side {
            Side::Participant { id, .. } => Subject::Participant(*id),
            Side::Staff { access, .. } => Subject::Staff(access.id),
        }
    }

    /// Who makes a change, as status changes and records keep it.
    pub fn by(&self) -> ChangedBy {
        match &self.side {
            Side::Participant { id, .. } => ChangedBy::Participant(*id),
            Side::Staff { access, .. } => ChangedBy::Staff(access.id),
        }
    }

    /// Who created a record: its `created_by`/`recorded_by` kind and id.
    pub fn created_by(&self) -> (&'static str, i64) {
        let by = self.by();
        // An asker is a person, never the product itself: there is always an id.
        (by.kind(), by.id().unwrap_or_default())
    }

    /// Where record `id` lives on the asker's side, for the `Location` header.
    pub fn location(&self, id: i64) -> String {
        let segment = self.resource.segment;
        match &self.side {
            Side::Participant { .. } => format!("/v1/me/{segment}/{id}"),
            Side::Staff { participant_id, .. } => {
                format!("/v1/participants/{participant_id}/{segment}/{id}")
            }
        }
    }

    /// The participant, if the asker may reach them (staff: only in their caseload, else 404).
    pub fn participant(&self, conn: &mut DbConnection) -> Result<Participant, StoreError> {
        match &self.side {
            Side::Participant { id, .. } => participants::get(conn, *id),
            Side::Staff {
                access,
                participant_id,
            } => access.reach(conn, *participant_id),
        }
    }

    /// Audits a read of the participant's data (record `id`, if one), in the caller's
    /// transaction once the read has succeeded.
    pub fn audit_read(
        &self,
        conn: &mut DbConnection,
        action: &'static str,
        id: Option<i64>,
    ) -> Result<(), StoreError> {
        self.audit(conn, Access::Read, action, id)
    }

    /// Audits a change of the participant's data (record `id`, if one), in the same transaction
    /// as the change, once it has succeeded.
    pub fn audit_change(
        &self,
        conn: &mut DbConnection,
        action: &'static str,
        id: Option<i64>,
    ) -> Result<(), StoreError> {
        self.audit(conn, Access::Change, action, id)
    }

    /// The one rule of what is audited (see the module's comment).
    fn audit(
        &self,
        conn: &mut DbConnection,
        access: Access,
        action: &'static str,
        id: Option<i64>,
    ) -> Result<(), StoreError> {
        if access == Access::Read && matches!(self.side, Side::Participant { .. }) {
            return Ok(());
        }
        let (mut entry, request_id) = self.audit_entry(action);
        if let Some(id) = id {
            entry = entry.subject(self.resource.subject, id);
        }
        audit::record(conn, &[entry], request_id.as_deref(), now())
    }

    /// The audit entry of `action` by this asker on the participant's data, not yet naming a
    /// record, and the request id it is recorded with: what [`Asker::audit_change`] writes, for a
    /// store function that writes it in the same statement as the change.
    pub fn audit_entry(&self, action: &'static str) -> (Entry, Option<String>) {
        match &self.side {
            Side::Staff {
                access,
                participant_id,
            } => (
                Entry::new(Actor::Staff(access.id), action).participant(*participant_id),
                access.request_id.clone(),
            ),
            Side::Participant { id, request_id } => (
                Entry::new(Actor::Participant(*id), action).participant(*id),
                request_id.clone(),
            ),
        }
    }
}
