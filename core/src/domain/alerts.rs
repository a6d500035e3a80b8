//! Alerts to a participant's specialist: their kinds, states and the rules that need no database.
//! The model is `docs/follow-up.md` ("Alerts"); whether a cause is still there needs the
//! database and lives in one function, `store::alerts::cause_present`.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::roles::text_enum;

text_enum! {
    /// What an alert is about. Each kind has one cause, looked for by the worker's scan.
    AlertKind {
        FollowUpDue => "follow_up_due",
        FollowUpOverdue => "follow_up_overdue",
        NoEmployerContact => "no_employer_contact",
        InterviewWithoutOutcome => "interview_without_outcome",
        MessageUnanswered => "message_unanswered",
        RequestWaiting => "request_waiting",
        ParticipantWithdrew => "participant_withdrew",
    }
}

text_enum! {
    /// `open` (to do), `acknowledged` (seen, still to do), `snoozed` until a time (then open again
    /// and delivered again), `resolved` (for good).
    AlertStatus {
        Open => "open",
        Acknowledged => "acknowledged",
        Snoozed => "snoozed",
        Resolved => "resolved",
    }
}

text_enum! {
    /// How an alert was resolved: by staff, by its cause going away, or by a later alert that
    /// replaces it (an overdue follow-up supersedes the "due" one).
    Resolution { ByStaff => "by_staff", CauseGone => "cause_gone", Superseded => "superseded" }
}

/// The notification kind that delivers an alert (outbox, inbox and push).
pub const NOTIFICATION_KIND: &str = "alert";

/// The longest an alert may be snoozed: long enough for a holiday, short enough that nothing is
/// put off and forgotten.
pub const MAX_SNOOZE: Duration = Duration::days(30);

/// Why a snooze time is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnoozeError {
    NotInFuture,
    TooFar,
}

impl SnoozeError {
    pub fn message(self) -> &'static str {
        match self {
            SnoozeError::NotInFuture => "must be in the future",
            SnoozeError::TooFar => "must be at most 30 days ahead",
        }
    }
}

/// A snooze must end after `now` and at most [`MAX_SNOOZE`] later.
pub fn check_snooze(until: NaiveDateTime, now: NaiveDateTime) -> Result<(), SnoozeError> {
    if until <= now {
        Err(SnoozeError::NotInFuture)
    } else if until - now > MAX_SNOOZE {
        Err(SnoozeError::TooFar)
    } else {
        Ok(())
    }
}

/// What an alert can still become from `status`: everything but a resolved alert can be
/// acknowledged, snoozed or resolved.
pub fn is_active(status: AlertStatus) -> bool {
    status != AlertStatus::Resolved
}

/// The dedupe key of one occurrence of a cause: the kind, what it is about, and the instant that
/// makes the occurrence (so a cause that comes back later is a new alert, and the same
/// occurrence seen by two scanners is one).
pub fn dedupe_key(kind: AlertKind, about: i64, occurrence: Option<NaiveDateTime>) -> String {
    match occurrence {
        Some(at) => format!(
            "{}:{about}:{}",
            kind.as_str(),
            at.and_utc().timestamp_micros()
        ),
        None => format!("{}:{about}", kind.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 23)
            .and_then(|d| d.and_hms_opt(hour, 0, 0))
            .expect("a valid time")
    }

    #[test]
    fn a_snooze_is_in_the_future_and_bounded() {
        let now = at(10);
        assert_eq!(check_snooze(now, now), Err(SnoozeError::NotInFuture));
        assert_eq!(check_snooze(at(9), now), Err(SnoozeError::NotInFuture));
        assert_eq!(check_snooze(at(11), now), Ok(()));
        assert_eq!(check_snooze(now + MAX_SNOOZE, now), Ok(()));
        assert_eq!(
            check_snooze(now + MAX_SNOOZE + Duration::seconds(1), now),
            Err(SnoozeError::TooFar)
        );
    }

    #[test]
    fn dedupe_keys_name_the_occurrence() {
        let a = dedupe_key(AlertKind::FollowUpDue, 7, Some(at(10)));
        let b = dedupe_key(AlertKind::FollowUpDue, 7, Some(at(11)));
        assert_ne!(a, b, "a cause that comes back is a new occurrence");
        assert!(a.starts_with("follow_up_due:7:"));
        assert_eq!(
            dedupe_key(AlertKind::ParticipantWithdrew, 7, None),
            "participant_withdrew:7"
        );
        assert_ne!(
            dedupe_key(AlertKind::FollowUpDue, 7, Some(at(10))),
            dedupe_key(AlertKind::FollowUpOverdue, 7, Some(at(10)))
        );
    }

    #[test]
    fn kinds_round_trip() {
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(*kind));
        }
        assert!(is_active(AlertStatus::Snoozed));
        assert!(!is_active(AlertStatus::Resolved));
    }
}
