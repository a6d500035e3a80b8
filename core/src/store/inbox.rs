//! The inbox: what was sent to a person, newest first, each notification with the facts needed
//! to word it (`domain::notices`). The outbox rows carry only ids; the words are made when read,
//! in the reader's language, from what is true now (an interview's current time and employer).

use super::interviews::{self, Interview};
use super::messages;
use super::notifications::{self, Notification, Recipient};
use super::participants::{self, Caseload, Participant};
use super::reassignments::SPECIALIST_CHANGED_KIND;
use super::staff;
use super::{alerts, contact_requests};
use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::domain::alerts::{self as alert_rules, AlertKind};
use crate::domain::notices::{AlertFacts, InterviewFacts, Notice};
use crate::domain::ContactRequestKind;

/// A notification of the inbox, ready to be worded.
#[derive(Debug, Clone)]
pub struct InboxItem {
    pub notification: Notification,
    pub notice: Notice,
    /// The participant the words name, when they name one (staff reads of that are audited).
    pub names_participant: Option<i64>,
}

const INTERVIEW: &str = "interview";

fn interview_id(n: &Notification) -> Option<i64> {
    match (n.subject_type.as_deref(), n.subject_id) {
        (Some(INTERVIEW), Some(id)) => Some(id),
        _ => n.payload_id("interview_id"),
    }
}

fn facts(interview: &Interview, zone: &str) -> InterviewFacts {
    InterviewFacts {
        role: interview.role_title.clone(),
        employer: interview.employer.clone(),
        starts_at: interview.starts_at.and_utc(),
        zone: zone.parse().unwrap_or(chrono_tz::Europe::Oslo),
    }
}

/// What one notification to a participant says, from what is true now. Times are written in the
/// participant's own time zone. The inbox and the worker's push use this same wording.
pub fn participant_notice(
    conn: &mut DbConnection,
    participant: &Participant,
    n: &Notification,
) -> Result<Notice, StoreError> {
    let interview = match interview_id(n) {
        Some(id) => interviews::get_of(conn, participant.id, id).found()?,
        None => None,
    };
    Ok(match (n.kind.as_str(), interview) {
        (interviews::REMINDER_KIND, Some(i)) => {
            Notice::InterviewReminder(facts(&i, &participant.time_zone))
        }
        (interviews::CANCELLED_KIND, Some(i)) => {
            Notice::InterviewCancelled(facts(&i, &participant.time_zone))
        }
        (messages::NEW_MESSAGE_KIND, _) => Notice::NewMessage,
        (SPECIALIST_CHANGED_KIND, _) => match n.payload_id("specialist_id") {
            Some(id) => match staff::get(conn, id).found()? {
                Some(specialist) => Notice::NewSpecialist {
                    name: specialist.name,
                },
                None => Notice::Other,
            },
            None => Notice::Other,
        },
        _ => Notice::Other,
    })
}

/// What one notification to a staff member says, and the participant it names (only while that
/// participant is in the reader's caseload). Times are written in the interview's time zone.
pub fn staff_notice(
    conn: &mut DbConnection,
    caseload: Caseload,
    n: &Notification,
) -> Result<(Notice, Option<i64>), StoreError> {
    if n.kind == alert_rules::NOTIFICATION_KIND {
        return alert_notice(conn, caseload, n);
    }
    if n.kind != interviews::CANCELLED_KIND {
        return Ok((Notice::Other, None));
    }
    let participant = match n.payload_id("participant_id") {
        Some(pid) => participants::get_in_caseload(conn, pid, caseload).found()?,
        None => None,
    };
    let interview = match (&participant, interview_id(n)) {
        (Some(p), Some(id)) => interviews::get_of(conn, p.id, id).found()?,
        _ => None,
    };
    Ok(match (participant, interview) {
        (Some(p), Some(i)) => (
            Notice::InterviewCancelledByParticipant {
                interview: facts(&i, &i.time_zone),
                participant: p.display_name,
            },
            Some(p.id),
        ),
        _ => (Notice::InterviewCancelledElsewhere, None),
    })
}

/// What an alert's notification says, from the alert as it is now. It names the participant only
/// while they are in the reader's caseload (a reassigned participant's old alerts say their kind
/// only). Times are written in the participant's time zone, an interview's in its own.
fn alert_notice(
    conn: &mut DbConnection,
    caseload: Caseload,
    n: &Notification,
) -> Result<(Notice, Option<i64>), StoreError> {
    let id = match (n.subject_type.as_deref(), n.subject_id) {
        (Some(alerts::SUBJECT), Some(id)) => Some(id),
        _ => n.payload_id("alert_id"),
    };
    let Some(alert) = id
        .map(|id| alerts::get(conn, id).found())
        .transpose()?
        .flatten()
    else {
        return Ok((Notice::Other, None));
    };
    let Some(kind) = alert.kind() else {
        return Ok((Notice::Other, None));
    };
    let Some(participant) =
        participants::get_in_caseload(conn, alert.participant_id, caseload).found()?
    else {
        return Ok((Notice::AlertElsewhere(kind), None));
    };
    let interview = match (kind, alert.subject_id) {
        (AlertKind::InterviewWithoutOutcome, Some(id)) => {
            interviews::get_of(conn, participant.id, id)
                .found()?
                .map(|i| facts(&i, &i.time_zone))
        }
        _ => None,
    };
    let request = match (kind, alert.subject_id) {
        (AlertKind::RequestWaiting, Some(id)) => contact_requests::get(conn, participant.id, id)
            .found()?
            .and_then(|r| ContactRequestKind::parse(&r.request.kind)),
        _ => None,
    };
    let facts = AlertFacts {
        kind,
        at: alert.cause_at.and_utc(),
        zone: participant
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Europe::Oslo),
        participant: participant.display_name,
        interview,
        request,
    };
    Ok((Notice::Alert(facts), Some(participant.id)))
}

/// A participant's inbox, newest first.
pub fn for_participant(
    conn: &mut DbConnection,
    participant: &Participant,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<InboxItem>, StoreError> {
    let page = notifications::inbox(conn, Recipient::Participant(participant.id), after, limit)?;
    let mut items = Vec::with_capacity(page.items.len());
    for n in page.items {
        let notice = participant_notice(conn, participant, &n)?;
        items.push(InboxItem {
            notification: n,
            notice,
            names_participant: None,
        });
    }
    Ok(Page {
        items,
        next_after: page.next_after,
    })
}

/// A staff member's inbox, newest first.
pub fn for_staff(
    conn: &mut DbConnection,
    staff_id: i64,
    caseload: Caseload,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<InboxItem>, StoreError> {
    let page = notifications::inbox(conn, Recipient::Staff(staff_id), after, limit)?;
    let mut items = Vec::with_capacity(page.items.len());
    for n in page.items {
        let (notice, names_participant) = staff_notice(conn, caseload, &n)?;
        items.push(InboxItem {
            notification: n,
            notice,
            names_participant,
        });
    }
    Ok(Page {
        items,
        next_after: page.next_after,
    })
}

/// `StoreError::NotFound` as `None`: a subject that is gone, or not this reader's to see.
trait Found<T> {
    fn found(self) -> Result<Option<T>, StoreError>;
}

impl<T> Found<T> for Result<T, StoreError> {
    fn found(self) -> Result<Option<T>, StoreError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
