//! Contact requests: a participant asks to be called, or for benefits counselling (IPS principle 4).
//!
//! A request is open until a staff member handles it, and a handled request is never reopened, so
//! an answered request cannot quietly turn back into an unanswered one (or the reverse).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::domain::ContactRequestStatus;
use crate::schema::{contact_requests, staff};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contact_requests)]
pub struct ContactRequest {
    pub id: i64,
    pub participant_id: i64,
    pub kind: String,
    pub preferred_time: Option<String>,
    pub note: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub handled_at: Option<NaiveDateTime>,
    pub handled_by_staff_id: Option<i64>,
    pub response_note: Option<String>,
    /// Set when the request is "I need to talk" about an interview.
    pub interview_id: Option<i64>,
}

/// A request with the name of the staff member who handled it, if anyone has.
#[derive(Debug, Clone)]
pub struct ContactRequestWithHandler {
    pub request: ContactRequest,
    pub handled_by_name: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = contact_requests)]
pub struct NewContactRequest {
    pub participant_id: i64,
    pub kind: String,
    pub preferred_time: Option<String>,
    pub note: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub interview_id: Option<i64>,
}

pub fn create(
    conn: &mut DbConnection,
    new: NewContactRequest,
) -> Result<ContactRequestWithHandler, StoreError> {
    let id = diesel::insert_into(contact_requests::table)
        .values(&new)
        .returning(contact_requests::id)
        .get_result(conn)?;
    get(conn, new.participant_id, id)
}

/// The open request about this interview, if the participant already asked to talk about it.
pub fn open_about_interview(
    conn: &mut DbConnection,
    participant_id: i64,
    interview_id: i64,
) -> Result<Option<ContactRequestWithHandler>, StoreError> {
    let id: Option<i64> = contact_requests::table
        .filter(contact_requests::participant_id.eq(participant_id))
        .filter(contact_requests::interview_id.eq(interview_id))
        .filter(contact_requests::status.eq("open"))
        .select(contact_requests::id)
        .first(conn)
        .optional()?;
    id.map(|id| get(conn, participant_id, id)).transpose()
}

/// One of this participant's requests; another participant's is `NotFound`, like a missing one.
pub fn get(
    conn: &mut DbConnection,
    participant_id: i64,
    id: i64,
) -> Result<ContactRequestWithHandler, StoreError> {
    let (request, handled_by_name) = contact_requests::table
        .left_join(
            staff::table.on(staff::id
                .nullable()
                .eq(contact_requests::handled_by_staff_id)),
        )
        .filter(contact_requests::id.eq(id))
        .filter(contact_requests::participant_id.eq(participant_id))
        .select((ContactRequest::as_select(), staff::name.nullable()))
        .first(conn)?;
    Ok(ContactRequestWithHandler {
        request,
        handled_by_name,
    })
}

/// A participant's requests, newest first.
pub fn list(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<ContactRequestWithHandler>, StoreError> {
    let mut query = contact_requests::table
        .left_join(
            staff::table.on(staff::id
                .nullable()
                .eq(contact_requests::handled_by_staff_id)),
        )
        .filter(contact_requests::participant_id.eq(participant_id))
        .select((ContactRequest::as_select(), staff::name.nullable()))
        .order(contact_requests::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(contact_requests::id.lt(after));
    }
    let rows = query
        .load::<(ContactRequest, Option<String>)>(conn)?
        .into_iter()
        .map(|(request, handled_by_name)| ContactRequestWithHandler {
            request,
            handled_by_name,
        })
        .collect();
    Ok(Page::from_rows(
        rows,
        limit,
        |r: &ContactRequestWithHandler| r.request.id,
    ))
}

/// Marks an open request handled. The update only matches an open request, so two staff members
/// handling it at once cannot both succeed: the second is a conflict, as is any later attempt.
pub fn handle(
    conn: &mut DbConnection,
    participant_id: i64,
    id: i64,
    staff_id: i64,
    response_note: Option<String>,
    at: NaiveDateTime,
) -> Result<ContactRequestWithHandler, StoreError> {
    let current = get(conn, participant_id, id)?;
    if current.request.status != ContactRequestStatus::Open.as_str() {
        return Err(StoreError::Conflict(
            "the request is already handled".into(),
        ));
    }
    let changed = diesel::update(
        contact_requests::table
            .filter(contact_requests::id.eq(id))
            .filter(contact_requests::status.eq(ContactRequestStatus::Open.as_str())),
    )
    .set((
        contact_requests::status.eq(ContactRequestStatus::Handled.as_str()),
        contact_requests::handled_at.eq(at),
        contact_requests::handled_by_staff_id.eq(staff_id),
        contact_requests::response_note.eq(response_note),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::Conflict(
            "the request is already handled".into(),
        ));
    }
    get(conn, participant_id, id)
}
