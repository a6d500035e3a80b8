//! What a push says: the notification worded for a lock screen, in the recipient's language,
//! from what is true at the moment of sending (an interview's current time), with the action
//! buttons the app should show. The wording itself is the inbox's (`store::inbox`,
//! `domain::notices`), so a push and its inbox entry never disagree.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use ips_core::domain::alerts as alert_rules;
use ips_core::domain::interviews::Status;
use ips_core::domain::notices::{self, Surface};
use ips_core::domain::{Language, Role};
use ips_core::store::notice_facts::Facts;
use ips_core::store::notifications::Notification;
use ips_core::store::outbox::Claimed;
use ips_core::store::participants::Caseload;
use ips_core::store::sessions::Subject;
use ips_core::store::{alerts, inbox, interviews, messages};
use ips_core::{DbConnection, StoreError};

use crate::push::PushMessage;

/// The app's action sets (APNs categories, and `category` in FCM data).
pub const REMINDER_ACTIONS: &str = "INTERVIEW_REMINDER";
/// After a confirmation: cancel and "I need to talk", no more asking to confirm.
pub const CONFIRMED_REMINDER_ACTIONS: &str = "INTERVIEW_REMINDER_CONFIRMED";

/// A claimed notification, ready to push or to drop.
#[derive(Debug)]
pub enum Prepared {
    Push {
        recipient: Subject,
        message: PushMessage,
    },
    /// Not to be sent (expired, recipient gone, interview no longer on): the reason is recorded.
    Drop(String),
}

/// Prepares a claimed batch: the facts the words need are read for the whole batch at once (a
/// few `IN (...)` queries, see `store::notice_facts`), then each notification is worded or
/// dropped. One result per claimed notification, in order.
pub fn prepare_all(
    conn: &mut DbConnection,
    claimed: &[Claimed],
    now: NaiveDateTime,
) -> Result<Vec<Prepared>, StoreError> {
    let notes: Vec<Notification> = claimed.iter().map(notification_of).collect();
    let recipients = |kind: &str| -> Vec<i64> {
        claimed
            .iter()
            .filter(|c| c.recipient_kind == kind)
            .map(|c| c.recipient_id)
            .collect()
    };
    let mut known = Facts::new(conn);
    known.load_participants(&recipients("participant"))?;
    known.load_staff(&recipients("staff"))?;
    known.preload(&notes)?;
    claimed
        .iter()
        .zip(&notes)
        .map(|(c, n)| prepare(&mut known, c, n, now))
        .collect()
}

/// The outbox row as the inbox's wording reads it.
fn notification_of(claimed: &Claimed) -> Notification {
    Notification {
        id: claimed.id,
        kind: claimed.kind.clone(),
        subject_type: claimed.subject_type.clone(),
        subject_id: claimed.subject_id,
        payload: claimed.payload.clone(),
        due_at: claimed.due_at,
        expires_at: claimed.expires_at,
        created_at: claimed.created_at,
        status: "in_flight".into(),
        sent_at: None,
        read_at: None,
    }
}

fn prepare(
    known: &mut Facts,
    claimed: &Claimed,
    n: &Notification,
    now: NaiveDateTime,
) -> Result<Prepared, StoreError> {
    if claimed.expires_at.is_some_and(|at| at <= now) {
        return Ok(Prepared::Drop(
            "expired before it could be delivered".into(),
        ));
    }
    let mut category = None;
    let (recipient, language, surface, notice) = match claimed.recipient_kind.as_str() {
        "participant" => {
            let Some(participant) = known.participant(claimed.recipient_id)? else {
                return Ok(Prepared::Drop("recipient not found".into()));
            };
            if participant.withdrawn_at.is_some() {
                return Ok(Prepared::Drop("the participant has withdrawn".into()));
            }
            if claimed.kind == interviews::REMINDER_KIND {
                let Some(interview_id) = n.payload_id("interview_id").or(claimed.subject_id) else {
                    return Ok(Prepared::Drop("reminder without an interview".into()));
                };
                let Some(interview) = known.interview_of(participant.id, interview_id)? else {
                    return Ok(Prepared::Drop("the interview is gone".into()));
                };
                let status = Status::parse(&interview.status);
                if !status.is_some_and(|s| s.wants_reminders()) || interview.starts_at <= now {
                    return Ok(Prepared::Drop("the interview is no longer ahead".into()));
                }
                category = Some(if status == Some(Status::Confirmed) {
                    CONFIRMED_REMINDER_ACTIONS
                } else {
                    REMINDER_ACTIONS
                });
            }
            if claimed.kind == messages::NEW_MESSAGE_KIND {
                let unread = match n.payload_id("message_id") {
                    Some(id) => known.is_unread(id)?,
                    None => false,
                };
                if !unread {
                    return Ok(Prepared::Drop(
                        "the message was read in the app first".into(),
                    ));
                }
            }
            let notice = inbox::participant_notice(known, &participant, n)?;
            let language = Language::parse(&participant.preferred_language).unwrap_or(Language::Nb);
            let surface = Surface::LockScreen {
                previews: participant.lock_screen_previews,
            };
            (
                Subject::Participant(participant.id),
                language,
                surface,
                notice,
            )
        }
        "staff" => {
            let Some(member) = known.staff(claimed.recipient_id)? else {
                return Ok(Prepared::Drop("recipient not found".into()));
            };
            if !member.active {
                return Ok(Prepared::Drop("the staff account is deactivated".into()));
            }
            if claimed.kind == alert_rules::NOTIFICATION_KIND {
                let wanted = match n.payload_id("alert_id").or(claimed.subject_id) {
                    Some(id) => known.alert_wants_delivery(id)?,
                    None => false,
                };
                if !wanted {
                    return Ok(Prepared::Drop(
                        "the alert was seen, snoozed or resolved first".into(),
                    ));
                }
            }
            let caseload = Caseload::of(
                member.id,
                member.role().unwrap_or(Role::Specialist),
                member.team_id,
            );
            let (notice, _) = inbox::staff_notice(known, caseload, n)?;
            // Staff have no language setting yet; the product's default is Norwegian.
            (
                Subject::Staff(member.id),
                Language::Nb,
                Surface::LockScreen { previews: false },
                notice,
            )
        }
        other => return Ok(Prepared::Drop(format!("unknown recipient kind {other}"))),
    };
    let rendered = notices::render(language, surface, &notice);
    let mut data = BTreeMap::new();
    data.insert("notification_id".to_owned(), claimed.id.to_string());
    data.insert("kind".to_owned(), claimed.kind.clone());
    if let (Some(kind), Some(id)) = (&claimed.subject_type, claimed.subject_id) {
        data.insert(format!("{kind}_id"), id.to_string());
    }
    if let Some(category) = category {
        data.insert("category".to_owned(), category.to_owned());
    }
    // One collapse key per interview: a moved interview's reminder replaces the earlier one.
    let collapse_key = match (claimed.subject_type.as_deref(), claimed.subject_id) {
        (Some("interview"), Some(id)) => format!("interview-{id}"),
        // One per alert: a snoozed alert that comes back replaces its earlier push.
        (Some(alerts::SUBJECT), Some(id)) => format!("alert-{id}"),
        _ => format!("notification-{}", claimed.id),
    };
    Ok(Prepared::Push {
        recipient,
        message: PushMessage {
            notification_id: claimed.id,
            title: rendered.title,
            body: rendered.body,
            category,
            data,
            collapse_key,
            expires_at: claimed.expires_at.map(|at| at.and_utc()),
        },
    })
}
