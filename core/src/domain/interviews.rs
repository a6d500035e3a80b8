//! The life of a job interview, as a small state machine.
//!
//! ```text
//!   scheduled --confirm--> confirmed
//!   scheduled|confirmed --reschedule--> scheduled      (a new time needs a new confirmation)
//!   scheduled|confirmed --cancel--> cancelled          (final)
//!   scheduled|confirmed --record outcome--> completed  (only once the interview has begun)
//!   completed(waiting) --record outcome--> completed   (the employer answered later)
//! ```
//! Anything else is refused with the reason, which the API shows as a 409.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Scheduled,
    Confirmed,
    Cancelled,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Offer,
    Rejected,
    Waiting,
    NoShow,
}

/// What someone wants to do to an interview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Confirm,
    Reschedule,
    Cancel,
    RecordOutcome(Outcome),
    /// Changing details other than the time (notes, address, checklist, debrief).
    Edit,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Confirmed => "confirmed",
            Status::Cancelled => "cancelled",
            Status::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Status::Scheduled,
            Status::Confirmed,
            Status::Cancelled,
            Status::Completed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether reminders may still be sent for an interview in this state.
    pub fn wants_reminders(self) -> bool {
        matches!(self, Status::Scheduled | Status::Confirmed)
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Offer => "offer",
            Outcome::Rejected => "rejected",
            Outcome::Waiting => "waiting",
            Outcome::NoShow => "no_show",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Outcome::Offer,
            Outcome::Rejected,
            Outcome::Waiting,
            Outcome::NoShow,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }
}

/// The state after `action`, or why it is not allowed. `started` says whether the interview's
/// start time has passed; `outcome` is the one already recorded, if any.
pub fn apply(
    status: Status,
    outcome: Option<Outcome>,
    action: Action,
    started: bool,
) -> Result<Status, &'static str> {
    use Status::*;
    match (status, action) {
        (Cancelled, _) => Err("the interview was cancelled; record a new one instead"),
        (Scheduled, Action::Confirm) => Ok(Confirmed),
        (Confirmed, Action::Confirm) => Ok(Confirmed),
        (Completed, Action::Confirm) => Err("the interview has already taken place"),
        (Scheduled | Confirmed, Action::Reschedule) => Ok(Scheduled),
        (Completed, Action::Reschedule) => {
            Err("the interview has already taken place; record a new one instead")
        }
        (Scheduled | Confirmed, Action::Cancel) => Ok(Cancelled),
        (Completed, Action::Cancel) => Err("the interview has already taken place"),
        (Scheduled | Confirmed, Action::RecordOutcome(_)) if !started => {
            Err("the interview has not started yet")
        }
        (Scheduled | Confirmed, Action::RecordOutcome(_)) => Ok(Completed),
        (Completed, Action::RecordOutcome(new)) => match outcome {
            Some(Outcome::Waiting) if new != Outcome::NoShow => Ok(Completed),
            _ => Err("the outcome is already recorded"),
        },
        (Scheduled | Confirmed | Completed, Action::Edit) => Ok(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Status::*;

    #[test]
    fn the_allowed_paths() {
        assert_eq!(apply(Scheduled, None, Confirm, false), Ok(Confirmed));
        assert_eq!(
            apply(Confirmed, None, Confirm, false),
            Ok(Confirmed),
            "confirming twice does one thing"
        );
        assert_eq!(
            apply(Confirmed, None, Reschedule, false),
            Ok(Scheduled),
            "a new time needs a new confirmation"
        );
        assert_eq!(apply(Scheduled, None, Cancel, false), Ok(Cancelled));
        assert_eq!(
            apply(Confirmed, None, RecordOutcome(Outcome::Offer), true),
            Ok(Completed)
        );
        assert_eq!(
            apply(Scheduled, None, RecordOutcome(Outcome::NoShow), true),
            Ok(Completed)
        );
        assert_eq!(
            apply(
                Completed,
                Some(Outcome::Waiting),
                RecordOutcome(Outcome::Offer),
                true
            ),
            Ok(Completed)
        );
        assert_eq!(
            apply(Completed, Some(Outcome::Offer), Edit, true),
            Ok(Completed),
            "a debrief after the fact"
        );
    }

    #[test]
    fn the_refused_paths() {
        assert!(apply(Cancelled, None, Confirm, false).is_err());
        assert!(apply(Cancelled, None, Cancel, false).is_err());
        assert!(apply(Cancelled, None, Edit, false).is_err());
        assert!(
            apply(Scheduled, None, RecordOutcome(Outcome::Offer), false).is_err(),
            "not before it starts"
        );
        assert!(apply(Completed, Some(Outcome::Offer), Reschedule, true).is_err());
        assert!(apply(
            Completed,
            Some(Outcome::Offer),
            RecordOutcome(Outcome::Rejected),
            true
        )
        .is_err());
        assert!(apply(
            Completed,
            Some(Outcome::Waiting),
            RecordOutcome(Outcome::NoShow),
            true
        )
        .is_err());
        assert!(apply(Completed, Some(Outcome::Rejected), Cancel, true).is_err());
    }

    #[test]
    fn text_round_trips() {
        for s in [Scheduled, Confirmed, Cancelled, Completed] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for o in [
            Outcome::Offer,
            Outcome::Rejected,
            Outcome::Waiting,
            Outcome::NoShow,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
    }
}
