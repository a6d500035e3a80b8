//! The inbox: what was sent to a person, newest first, each notification with the facts needed
//! to word it (`domain::notices`). The outbox rows carry only ids; the words are made when read,
//! in the reader's language, from what is true now (an interview's current time and employer).

use super::interviews::{self, Interview};
use super::messages;
use super::notice_facts::{alert_id, interview_id, Facts};
use super::notifications::{self, Notification, Recipient};
use super::participants::{Caseload, Participant};
use super::reassignments::SPECIALIST_CHANGED_KIND;
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

fn facts(interview: &Interview, zone: &str) -> InterviewFacts {
    InterviewFacts {
        role: interview.role_title.clone(),
        employer: interview.employer.clone(),
        starts_at: interview.starts_at.and_utc(),
        zone: zone.parse().unwrap_or(chrono_tz::Europe::Oslo),
    }
}

/// A participant by id if `caseload` includes them (as `participants::get_in_caseload`).
fn in_caseload(
    known: &mut Facts,
    id: i64,
    caseload: Caseload,
) -> Result<Option<Participant>, StoreError> {
    Ok(known.participant(id)?.filter(|p| caseload.includes(p)))
}

/// What one notification to a participant says, from what is true now. Times are written in the
/// participant's own time zone. The inbox and the worker's push use this same wording.
pub fn participant_notice(
    known: &mut Facts,
    participant: &Participant,
    n: &Notification,
) -> Result<Notice, StoreError> {
    let interview = match interview_id(n) {
        Some(id) => known.interview_of(participant.id, id)?,
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
            Some(id) => match known.staff(id)? {
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
    known: &mut Facts,
    caseload: Caseload,
    n: &Notification,
) -> Result<(Notice, Option<i64>), StoreError> {
    if n.kind == alert_rules::NOTIFICATION_KIND {
        return alert_notice(known, caseload, n);
    }
    if n.kind != interviews::CANCELLED_KIND {
        return Ok((Notice::Other, None));
    }
    let participant = match n.payload_id("participant_id") {
        Some(pid) => in_caseload(known, pid, caseload)?,
        None => None,
    };
    let interview = match (&participant, interview_id(n)) {
        (Some(p), Some(id)) => known.interview_of(p.id, id)?,
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
    known: &mut Facts,
    caseload: Caseload,
    n: &Notification,
) -> Result<(Notice, Option<i64>), StoreError> {
    let Some(alert) = alert_id(n).map(|id| known.alert(id)).transpose()?.flatten() else {
        return Ok((Notice::Other, None));
    };
    let Some(kind) = alert.kind() else {
        return Ok((Notice::Other, None));
    };
    let Some(participant) = in_caseload(known, alert.participant_id, caseload)? else {
        return Ok((Notice::AlertElsewhere(kind), None));
    };
    let interview = match (kind, alert.subject_id) {
        (AlertKind::InterviewWithoutOutcome, Some(id)) => known
            .interview_of(participant.id, id)?
            .map(|i| facts(&i, &i.time_zone)),
        _ => None,
    };
    let request = match (kind, alert.subject_id) {
        (AlertKind::RequestWaiting, Some(id)) => known
            .request_of(participant.id, id)?
            .and_then(|r| ContactRequestKind::parse(&r.kind)),
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

/// A participant's inbox, newest first; the page's facts are read in a few queries.
pub fn for_participant(
    conn: &mut DbConnection,
    participant: &Participant,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<InboxItem>, StoreError> {
    let page = notifications::inbox(conn, Recipient::Participant(participant.id), after, limit)?;
    let mut known = Facts::new(conn);
    known.preload(&page.items)?;
    let mut items = Vec::with_capacity(page.items.len());
    for n in page.items {
        let notice = participant_notice(&mut known, participant, &n)?;
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

/// A staff member's inbox, newest first; the page's facts are read in a few queries.
pub fn for_staff(
    conn: &mut DbConnection,
    staff_id: i64,
    caseload: Caseload,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<InboxItem>, StoreError> {
    let page = notifications::inbox(conn, Recipient::Staff(staff_id), after, limit)?;
    let mut known = Facts::new(conn);
    known.preload(&page.items)?;
    let mut items = Vec::with_capacity(page.items.len());
    for n in page.items {
        let (notice, names_participant) = staff_notice(&mut known, caseload, &n)?;
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
