//! Webhooks: the event types, the one mapping from a change in the product to the event sent
//! about it, and the Standard Webhooks signature (<https://www.standardwebhooks.com>).
//!
//! A payload carries ids, types, statuses and times only: never a name, a message, a note, an
//! employer or any other free text, so what leaves the product for a case-management system or a
//! dashboard is no more than it needs to find the record through the API.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

/// What an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    AlertRaised,
    AlertResolved,
    InterviewCreated,
    InterviewChanged,
    InterviewCancelled,
    ParticipantEnrolled,
    ParticipantWithdrawn,
    ReminderDelivered,
    ReminderFailed,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::AlertRaised,
        EventType::AlertResolved,
        EventType::InterviewCreated,
        EventType::InterviewChanged,
        EventType::InterviewCancelled,
        EventType::ParticipantEnrolled,
        EventType::ParticipantWithdrawn,
        EventType::ReminderDelivered,
        EventType::ReminderFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AlertRaised => "alert.raised",
            EventType::AlertResolved => "alert.resolved",
            EventType::InterviewCreated => "interview.created",
            EventType::InterviewChanged => "interview.changed",
            EventType::InterviewCancelled => "interview.cancelled",
            EventType::ParticipantEnrolled => "participant.enrolled",
            EventType::ParticipantWithdrawn => "participant.withdrawn",
            EventType::ReminderDelivered => "reminder.delivered",
            EventType::ReminderFailed => "reminder.failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// The type of the test event an administrator sends to one endpoint; no one subscribes to it.
pub const PING: &str = "ping";

/// An interview as events describe it: when and in what state, never where, with whom or why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterviewFacts {
    pub interview_id: i64,
    pub participant_id: i64,
    pub status: String,
    pub outcome: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub sequence: i32,
}

/// A reminder's final result as the dispatcher recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderFacts {
    pub notification_id: i64,
    pub participant_id: i64,
    pub interview_id: Option<i64>,
    pub offset_minutes: Option<i64>,
    pub due_at: NaiveDateTime,
    pub attempts: i32,
}

/// A change that integrations hear about. The store builds one where the change is made, in its
/// transaction; this type alone decides the event's type and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    AlertRaised {
        alert_id: i64,
        participant_id: i64,
        staff_id: i64,
        kind: String,
        subject_type: Option<String>,
        subject_id: Option<i64>,
        raised_at: NaiveDateTime,
    },
    AlertResolved {
        alert_id: i64,
        participant_id: i64,
        kind: String,
        resolution: String,
        resolved_by: Option<i64>,
        resolved_at: NaiveDateTime,
    },
    InterviewCreated(InterviewFacts),
    InterviewChanged(InterviewFacts),
    InterviewCancelled(InterviewFacts),
    ParticipantEnrolled {
        participant_id: i64,
        team_id: i64,
        specialist_id: i64,
        status: String,
        enrolled_at: NaiveDateTime,
    },
    ParticipantWithdrawn {
        participant_id: i64,
        team_id: i64,
        specialist_id: i64,
        withdrawn_at: NaiveDateTime,
    },
    ReminderDelivered(ReminderFacts),
    ReminderFailed(ReminderFacts),
}

/// RFC 3339 in UTC with microseconds, as the API writes every time.
pub fn timestamp(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn interview_data(i: &InterviewFacts) -> Value {
    json!({
        "interview_id": i.interview_id,
        "participant_id": i.participant_id,
        "status": i.status,
        "outcome": i.outcome,
        "starts_at": timestamp(i.starts_at),
        "ends_at": timestamp(i.ends_at),
        "time_zone": i.time_zone,
        "sequence": i.sequence,
    })
}

fn reminder_data(r: &ReminderFacts, status: &str) -> Value {
    json!({
        "notification_id": r.notification_id,
        "participant_id": r.participant_id,
        "interview_id": r.interview_id,
        "offset_minutes": r.offset_minutes,
        "status": status,
        "due_at": timestamp(r.due_at),
        "attempts": r.attempts,
    })
}

impl Event {
    pub fn event_type(&self) -> EventType {
        match self {
            Event::AlertRaised { .. } => EventType::AlertRaised,
            Event::AlertResolved { .. } => EventType::AlertResolved,
            Event::InterviewCreated(_) => EventType::InterviewCreated,
            Event::InterviewChanged(_) => EventType::InterviewChanged,
            Event::InterviewCancelled(_) => EventType::InterviewCancelled,
            Event::ParticipantEnrolled { .. } => EventType::ParticipantEnrolled,
            Event::ParticipantWithdrawn { .. } => EventType::ParticipantWithdrawn,
            Event::ReminderDelivered(_) => EventType::ReminderDelivered,
            Event::ReminderFailed(_) => EventType::ReminderFailed,
        }
    }

    /// The payload's `data`.
    pub fn data(&self) -> Value {
        match self {
            Event::AlertRaised {
                alert_id,
                participant_id,
                staff_id,
                kind,
                subject_type,
                subject_id,
                raised_at,
            } => json!({
                "alert_id": alert_id,
                "participant_id": participant_id,
                "staff_id": staff_id,
                "kind": kind,
                "status": "open",
                "subject_type": subject_type,
                "subject_id": subject_id,
                "raised_at": timestamp(*raised_at),
            }),
            Event::AlertResolved {
                alert_id,
                participant_id,
                kind,
                resolution,
                resolved_by,
                resolved_at,
            } => json!({
                "alert_id": alert_id,
                "participant_id": participant_id,
                "kind": kind,
                "status": "resolved",
                "resolution": resolution,
                "resolved_by": resolved_by,
                "resolved_at": timestamp(*resolved_at),
            }),
            Event::InterviewCreated(i)
            | Event::InterviewChanged(i)
            | Event::InterviewCancelled(i) => interview_data(i),
            Event::ParticipantEnrolled {
                participant_id,
                team_id,
                specialist_id,
                status,
                enrolled_at,
            } => json!({
                "participant_id": participant_id,
                "team_id": team_id,
                "specialist_id": specialist_id,
                "status": status,
                "enrolled_at": timestamp(*enrolled_at),
            }),
            Event::ParticipantWithdrawn {
                participant_id,
                team_id,
                specialist_id,
                withdrawn_at,
            } => json!({
                "participant_id": participant_id,
                "team_id": team_id,
                "specialist_id": specialist_id,
                "status": "closed",
                "closed_reason": "withdrew",
                "withdrawn_at": timestamp(*withdrawn_at),
            }),
            Event::ReminderDelivered(r) => reminder_data(r, "sent"),
            Event::ReminderFailed(r) => reminder_data(r, "failed"),
        }
    }
}

/// The body sent for an event.
#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    created_at: String,
    data: Value,
}

/// The body sent for an event: its id, type, time and data, in this order (a struct, because a
/// JSON map would sort the keys).
pub fn payload(event_id: &str, event_type: &str, created_at: NaiveDateTime, data: Value) -> String {
    let envelope = Envelope {
        id: event_id,
        event_type,
        created_at: timestamp(created_at),
        data,
    };
    // Strings and a JSON value always serialise; there is no error to handle.
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// A new event id: `evt_` and 26 characters that sort by time (milliseconds, then randomness,
/// in Crockford's base 32, like a ULID), so ids read in order of creation.
pub fn new_event_id(at: DateTime<Utc>) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = u128::try_from(at.timestamp_millis().max(0)).unwrap_or(0);
    let mut random = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let value = (millis << 80)
        | random
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let mut out = String::with_capacity(30);
    out.push_str("evt_");
    for i in (0..26).rev() {
        let index = usize::try_from((value >> (i * 5)) & 0x1f).unwrap_or(0);
        out.push(char::from(ALPHABET[index]));
    }
    out
}

/// The prefix of a signing secret, as Standard Webhooks writes it.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and the standard base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` value for one secret: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes (the Standard Webhooks
/// scheme, so its libraries verify our requests). `None` for a secret that is not ours.
pub fn sign(secret: &str, event_id: &str, unix_seconds: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{event_id}.{unix_seconds}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse(PING), None);
        assert_eq!(EventType::parse("alert.*"), None);
    }

    #[test]
    fn the_body_starts_with_the_id_and_type() {
        let at = DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap_or_default()
            .naive_utc();
        assert_eq!(
            payload("evt_1", PING, at, json!({ "endpoint_id": 4 })),
            r#"{"id":"evt_1","type":"ping","created_at":"2023-11-14T22:13:20.000000Z","data":{"endpoint_id":4}}"#
        );
    }

    #[test]
    fn event_ids_are_distinct_and_sort_by_time() {
        let earlier = new_event_id(DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default());
        let later = new_event_id(DateTime::from_timestamp(1_700_000_001, 0).unwrap_or_default());
        assert_eq!(earlier.len(), 30);
        assert!(earlier < later);
        let now = Utc::now();
        assert_ne!(new_event_id(now), new_event_id(now));
    }

    /// The example of the Standard Webhooks specification, so receivers' libraries agree.
    #[test]
    fn signatures_follow_standard_webhooks() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("not-a-secret", "evt_1", 1, "{}"), None);
        let secret = new_secret();
        assert!(secret.starts_with(SECRET_PREFIX) && secret.len() == 6 + 44);
        assert!(sign(&secret, "evt_1", 1, "{}").is_some());
    }
}
