//! The message thread between a participant and their team: one thread per participant.
//!
//! A message's `read_at` is set when the other side reads it, which gives read receipts both ways.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::domain::SenderKind;
use crate::schema::{messages, participants, staff};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: i64,
    pub participant_id: i64,
    pub sender_kind: String,
    pub sender_staff_id: Option<i64>,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

/// A message with the name of whoever sent it (the participant's display name or the staff member's name).
#[derive(Debug, Clone)]
pub struct ThreadMessage {
    pub message: Message,
    pub sender_name: String,
}

impl ThreadMessage {
    pub fn sender_kind(&self) -> SenderKind {
        SenderKind::parse(&self.message.sender_kind).unwrap_or(SenderKind::Staff)
    }

    /// The sender's id: the staff member's, or the participant's for their own messages.
    pub fn sender_id(&self) -> i64 {
        self.message
            .sender_staff_id
            .unwrap_or(self.message.participant_id)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage {
    pub participant_id: i64,
    pub sender_kind: String,
    pub sender_staff_id: Option<i64>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

impl NewMessage {
    pub fn from_participant(participant_id: i64, body: String, at: NaiveDateTime) -> Self {
        Self {
            participant_id,
            sender_kind: SenderKind::Participant.as_str().to_owned(),
            sender_staff_id: None,
            body,
            created_at: at,
        }
    }

    pub fn from_staff(participant_id: i64, staff_id: i64, body: String, at: NaiveDateTime) -> Self {
        Self {
            participant_id,
            sender_kind: SenderKind::Staff.as_str().to_owned(),
            sender_staff_id: Some(staff_id),
            body,
            created_at: at,
        }
    }
}

/// How much of the thread one side has not read yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unread {
    pub count: i64,
    /// When the newest message of the thread (from either side) was written.
    pub latest_message_at: Option<NaiveDateTime>,
}

fn with_sender(row: (Message, String, Option<String>)) -> ThreadMessage {
    let (message, participant_name, staff_name) = row;
    let sender_name = match staff_name {
        Some(name) if message.sender_staff_id.is_some() => name,
        _ => participant_name,
    };
    ThreadMessage {
        message,
        sender_name,
    }
}

pub fn create(conn: &mut DbConnection, new: NewMessage) -> Result<ThreadMessage, StoreError> {
    let id = diesel::insert_into(messages::table)
        .values(&new)
        .returning(messages::id)
        .get_result(conn)?;
    get(conn, id)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<ThreadMessage, StoreError> {
    let row = messages::table
        .inner_join(participants::table.on(participants::id.eq(messages::participant_id)))
        .left_join(staff::table.on(staff::id.nullable().eq(messages::sender_staff_id)))
        .filter(messages::id.eq(id))
        .select((
            Message::as_select(),
            participants::display_name,
            staff::name.nullable(),
        ))
        .first(conn)?;
    Ok(with_sender(row))
}

/// A participant's thread, newest first.
pub fn list(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<ThreadMessage>, StoreError> {
    let mut query = messages::table
        .inner_join(participants::table.on(participants::id.eq(messages::participant_id)))
        .left_join(staff::table.on(staff::id.nullable().eq(messages::sender_staff_id)))
        .filter(messages::participant_id.eq(participant_id))
        .select((
            Message::as_select(),
            participants::display_name,
            staff::name.nullable(),
        ))
        .order(messages::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(messages::id.lt(after));
    }
    let rows = query.load(conn)?.into_iter().map(with_sender).collect();
    Ok(Page::from_rows(rows, limit, |m: &ThreadMessage| {
        m.message.id
    }))
}

/// Whether `id` is a message of this participant's thread.
pub fn in_thread(
    conn: &mut DbConnection,
    participant_id: i64,
    id: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        messages::table
            .filter(messages::id.eq(id))
            .filter(messages::participant_id.eq(participant_id)),
    ))
    .get_result(conn)?)
}

/// `reader` has read the other side's messages up to and including `up_to_id`. Messages already
/// read keep their first `read_at`, so repeating the call changes nothing.
pub fn mark_read(
    conn: &mut DbConnection,
    participant_id: i64,
    reader: SenderKind,
    up_to_id: i64,
    at: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        messages::table
            .filter(messages::participant_id.eq(participant_id))
            .filter(messages::sender_kind.eq(reader.other().as_str()))
            .filter(messages::id.le(up_to_id))
            .filter(messages::read_at.is_null()),
    )
    .set(messages::read_at.eq(at))
    .execute(conn)?)
}

/// What `reader` has not read yet in this participant's thread.
pub fn unread(
    conn: &mut DbConnection,
    participant_id: i64,
    reader: SenderKind,
) -> Result<Unread, StoreError> {
    let count = messages::table
        .filter(messages::participant_id.eq(participant_id))
        .filter(messages::sender_kind.eq(reader.other().as_str()))
        .filter(messages::read_at.is_null())
        .count()
        .get_result(conn)?;
    // The newest id is the newest message: one step down the (participant_id, id) index.
    let latest_message_at = messages::table
        .filter(messages::participant_id.eq(participant_id))
        .order(messages::id.desc())
        .select(messages::created_at)
        .first(conn)
        .optional()?;
    Ok(Unread {
        count,
        latest_message_at,
    })
}

/// The notification kind of "your specialist wrote to you".
pub const NEW_MESSAGE_KIND: &str = "new_message";

/// Announces a staff message to the participant by push, after `hold` (if they read it in the
/// app first, the worker drops the push) and at most once per `window` per thread, so a
/// conversation does not buzz their phone for every line. Run in the message's transaction.
pub fn announce_to_participant(
    conn: &mut DbConnection,
    participant_id: i64,
    message_id: i64,
    hold: chrono::Duration,
    window: chrono::Duration,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    use crate::schema::notifications;
    let recent: bool = diesel::select(diesel::dsl::exists(
        notifications::table
            .filter(notifications::recipient_kind.eq("participant"))
            .filter(notifications::recipient_id.eq(participant_id))
            .filter(notifications::kind.eq(NEW_MESSAGE_KIND))
            .filter(notifications::created_at.gt(now - window))
            .filter(notifications::status.ne("cancelled")),
    ))
    .get_result(conn)?;
    if recent {
        return Ok(false);
    }
    super::notifications::enqueue(
        conn,
        &super::notifications::NewNotification {
            recipient: super::notifications::Recipient::Participant(participant_id),
            kind: NEW_MESSAGE_KIND,
            dedupe_key: format!("message:{message_id}"),
            subject: Some(("message", message_id)),
            payload: serde_json::json!({ "message_id": message_id }),
            due_at: now + hold,
            expires_at: None,
        },
        now,
    )
}

/// Starts the answer clock on a participant's message: it must have a staff answer by `due_at`
/// (working hours later; see `domain::working_hours`), or the worker's scan alerts the specialist.
/// Only the first message still waiting carries the deadline: when the participant writes again
/// before anyone answered, the thread is already waiting and its clock keeps running from the
/// first message. Run in the message's transaction.
pub fn expect_answer(
    conn: &mut DbConnection,
    participant_id: i64,
    message_id: i64,
    due_at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let last_answer: Option<i64> = messages::table
        .filter(messages::participant_id.eq(participant_id))
        .filter(messages::sender_kind.eq(SenderKind::Staff.as_str()))
        .select(diesel::dsl::max(messages::id))
        .first(conn)?;
    let already_waiting: bool = diesel::select(diesel::dsl::exists(
        messages::table
            .filter(messages::participant_id.eq(participant_id))
            .filter(messages::sender_kind.eq(SenderKind::Participant.as_str()))
            .filter(messages::id.gt(last_answer.unwrap_or(0)))
            .filter(messages::id.ne(message_id)),
    ))
    .get_result(conn)?;
    if already_waiting {
        return Ok(false);
    }
    diesel::update(messages::table.find(message_id))
        .set(messages::answer_due_at.eq(due_at))
        .execute(conn)?;
    Ok(true)
}

/// A staff member answered in the thread: no message of it waits for an answer any more.
pub fn answered(conn: &mut DbConnection, participant_id: i64) -> Result<usize, StoreError> {
    Ok(diesel::update(
        messages::table
            .filter(messages::participant_id.eq(participant_id))
            .filter(messages::answer_due_at.is_not_null()),
    )
    .set(messages::answer_due_at.eq(None::<NaiveDateTime>))
    .execute(conn)?)
}
