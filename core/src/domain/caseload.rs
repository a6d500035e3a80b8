//! The caseload view's rules: what makes a participant urgent, and in what order a specialist
//! (or their supervisor) should look at their people. No database here; `store::caseload`
//! gathers the facts and sorts by [`Urgency`].

use std::cmp::Ordering;

use chrono::NaiveDateTime;

/// Fidelity item 1 (caseload size): a full-time specialist carries at most 20 active participants.
pub const CASELOAD_TARGET: i64 = 20;

/// The follow-up plan's phases (the CHECK of `follow_up_plans.phase`, docs/follow-up.md).
pub const PHASES: [&str; 6] = [
    "job_search",
    "before_job_start",
    "new_job",
    "established_job",
    "education",
    "after_job_loss",
];

/// Alert kinds, most urgent first. The first four are "overdue-type": each is raised because a
/// deadline has passed (the follow-up contact, the 30-day job-search start, the interview's
/// outcome, the answer to a message). A waiting request is raised at once, a "due" alert ahead of
/// its deadline, and a withdrawal tells of something that already happened.
pub const ALERT_KINDS_BY_URGENCY: [&str; 7] = [
    "follow_up_overdue",
    "no_employer_contact",
    "interview_without_outcome",
    "message_unanswered",
    "request_waiting",
    "follow_up_due",
    "participant_withdrew",
];

const OVERDUE_KINDS: usize = 4;

/// The rank of an alert kind in [`ALERT_KINDS_BY_URGENCY`] (0 is the most urgent); a kind this
/// version does not know ranks after all known ones.
pub fn alert_rank(kind: &str) -> usize {
    ALERT_KINDS_BY_URGENCY
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(ALERT_KINDS_BY_URGENCY.len())
}

/// Whether an alert of this kind says a deadline has passed.
pub fn is_overdue_kind(kind: &str) -> bool {
    alert_rank(kind) < OVERDUE_KINDS
}

/// Whether an alert counts as open on the caseload: still to do (`open` or `acknowledged`), or
/// snoozed until a time that has come (the scan reopens it, but the view does not wait for it).
pub fn alert_is_open(
    status: &str,
    snoozed_until: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> bool {
    match status {
        "open" | "acknowledged" => true,
        "snoozed" => snoozed_until.is_some_and(|until| until <= now),
        _ => false,
    }
}

/// What decides a participant's place on the caseload, most important first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urgency {
    /// An open alert of an overdue-type kind.
    pub overdue_alert: bool,
    /// Any open alert.
    pub open_alert: bool,
    /// The plan's `due_at` has passed.
    pub overdue_follow_up: bool,
    pub next_interview_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    /// The participant's id: equal urgency keeps a stable order.
    pub id: i64,
}

impl Ord for Urgency {
    fn cmp(&self, other: &Self) -> Ordering {
        // `true` first for the flags; the soonest time first, and no time after any time.
        other
            .overdue_alert
            .cmp(&self.overdue_alert)
            .then(other.open_alert.cmp(&self.open_alert))
            .then(other.overdue_follow_up.cmp(&self.overdue_follow_up))
            .then(soonest_first(
                self.next_interview_at,
                other.next_interview_at,
            ))
            .then(soonest_first(self.due_at, other.due_at))
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Urgency {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn soonest_first(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Whether a plan's due time has passed.
pub fn is_overdue(due_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    due_at.is_some_and(|due| due < now)
}

/// Whether a specialist's active caseload is within fidelity item 1.
pub fn within_caseload_target(active_participants: i64) -> bool {
    active_participants <= CASELOAD_TARGET
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32) -> Option<NaiveDateTime> {
        NaiveDate::from_ymd_opt(2026, 1, day).and_then(|d| d.and_hms_opt(9, 0, 0))
    }

    fn calm(id: i64) -> Urgency {
        Urgency {
            overdue_alert: false,
            open_alert: false,
            overdue_follow_up: false,
            next_interview_at: None,
            due_at: None,
            id,
        }
    }

    #[test]
    fn alerts_then_overdue_then_interviews_then_due_times() {
        let overdue_alert = Urgency {
            overdue_alert: true,
            open_alert: true,
            ..calm(9)
        };
        let other_alert = Urgency {
            open_alert: true,
            ..calm(8)
        };
        let overdue = Urgency {
            overdue_follow_up: true,
            due_at: at(1),
            ..calm(7)
        };
        let interview_soon = Urgency {
            next_interview_at: at(3),
            ..calm(6)
        };
        let interview_later = Urgency {
            next_interview_at: at(4),
            due_at: at(2),
            ..calm(5)
        };
        let due_soon = Urgency {
            due_at: at(5),
            ..calm(4)
        };
        let due_later = Urgency {
            due_at: at(6),
            ..calm(3)
        };
        let nothing = calm(2);
        let nothing_either = calm(1);
        let expected = vec![
            overdue_alert,
            other_alert,
            overdue,
            interview_soon,
            interview_later,
            due_soon,
            due_later,
            nothing_either,
            nothing,
        ];
        let mut shuffled = expected.clone();
        shuffled.reverse();
        shuffled.sort();
        assert_eq!(shuffled, expected);
    }

    #[test]
    fn overdue_kinds_and_open_states() {
        assert!(is_overdue_kind("follow_up_overdue"));
        assert!(is_overdue_kind("message_unanswered"));
        assert!(!is_overdue_kind("follow_up_due"));
        assert!(!is_overdue_kind("participant_withdrew"));
        assert!(!is_overdue_kind("something_new"));
        assert!(alert_rank("follow_up_overdue") < alert_rank("request_waiting"));
        let now = at(10).unwrap_or_default();
        assert!(alert_is_open("acknowledged", None, now));
        assert!(alert_is_open("snoozed", at(9), now));
        assert!(!alert_is_open("snoozed", at(11), now));
        assert!(!alert_is_open("resolved", None, now));
        assert!(is_overdue(at(9), now));
        assert!(!is_overdue(at(10), now));
        assert!(!is_overdue(None, now));
        assert!(within_caseload_target(20));
        assert!(!within_caseload_target(21));
    }
}
