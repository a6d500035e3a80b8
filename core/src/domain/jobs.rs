//! Jobs: a start (employer, role, hours, competitive or not, start date) and later an end with
//! its reason. Dates are the participant's local calendar dates.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::roles::text_enum;

text_enum! {
    /// Why a job ended.
    EndReason {
        Quit => "quit",
        Dismissed => "dismissed",
        ContractEnded => "contract_ended",
        LaidOff => "laid_off",
        Other => "other",
    }
}

/// How far back a job start may be recorded (a job recorded late, or one found when a case is
/// taken over) and how far ahead (an offer accepted for a later start).
pub const START_DAYS_BACK: u64 = 2 * 366;
pub const START_DAYS_AHEAD: u64 = 366;

/// A fidelity "job start" counts from a few hours of paid work; the column allows up to 80.
pub const MAX_HOURS_PER_WEEK: f64 = 80.0;

/// Why a start date is refused, if it is, given the participant's local `today`.
pub fn start_date_problem(start: NaiveDate, today: NaiveDate) -> Option<&'static str> {
    let earliest = today.checked_sub_days(Days::new(START_DAYS_BACK))?;
    let latest = today.checked_add_days(Days::new(START_DAYS_AHEAD))?;
    if start < earliest {
        Some("must be at most two years back")
    } else if start > latest {
        Some("must be at most a year ahead")
    } else {
        None
    }
}

/// Why an end date is refused, if it is. A job ends on or after its start, and is recorded once
/// it has ended (an offer withdrawn before the start ends on the start date).
pub fn end_date_problem(
    end: NaiveDate,
    start: NaiveDate,
    today: NaiveDate,
) -> Option<&'static str> {
    if end < start {
        Some("must not be before the job's start date")
    } else if end > today.max(start) {
        Some("must not be in the future: record the end once the job has ended")
    } else {
        None
    }
}

/// Why a weekly hours figure is refused, if it is.
pub fn hours_problem(hours: f64) -> Option<&'static str> {
    if hours.is_finite() && hours > 0.0 && hours <= MAX_HOURS_PER_WEEK {
        None
    } else {
        Some("must be more than 0 and at most 80")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn start_dates_within_two_years_back_and_one_ahead() {
        let today = date(2026, 11, 23);
        assert_eq!(start_date_problem(today, today), None);
        assert_eq!(start_date_problem(date(2027, 11, 24), today), None);
        assert!(start_date_problem(date(2027, 11, 25), today).is_some());
        assert_eq!(start_date_problem(date(2024, 11, 21), today), None);
        assert!(start_date_problem(date(2024, 11, 20), today).is_some());
    }

    #[test]
    fn end_dates_follow_the_start_and_are_not_ahead() {
        let today = date(2026, 11, 23);
        let start = date(2026, 9, 1);
        assert_eq!(end_date_problem(start, start, today), None);
        assert_eq!(end_date_problem(today, start, today), None);
        assert!(end_date_problem(date(2026, 8, 31), start, today).is_some());
        assert!(end_date_problem(date(2026, 11, 24), start, today).is_some());
        let future_start = date(2026, 12, 1);
        assert_eq!(
            end_date_problem(future_start, future_start, today),
            None,
            "an offer withdrawn before the start"
        );
        assert!(end_date_problem(date(2026, 12, 2), future_start, today).is_some());
    }

    #[test]
    fn hours_are_positive_and_at_most_80() {
        assert_eq!(hours_problem(4.0), None);
        assert_eq!(hours_problem(80.0), None);
        assert!(hours_problem(0.0).is_some());
        assert!(hours_problem(-1.0).is_some());
        assert!(hours_problem(80.5).is_some());
        assert!(hours_problem(f64::NAN).is_some());
        assert_eq!(EndReason::parse("laid_off"), Some(EndReason::LaidOff));
    }
}
