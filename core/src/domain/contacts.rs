//! The contact log's closed sets and rules: who a contact was with, how, and where.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::roles::text_enum;

text_enum! {
    /// With whom: the participant, or an employer (job development, IPS principle 8).
    Party { Participant => "participant", Employer => "employer" }
}

text_enum! {
    /// How the contact was had or tried.
    Channel { Meeting => "meeting", Phone => "phone", Video => "video", Message => "message" }
}

text_enum! {
    /// Where a meeting was: out in the community or at the office (fidelity item 24).
    Location { Community => "community", Office => "office" }
}

/// A contact may be logged up to a year after it happened.
pub const DAYS_BACK: i64 = 366;
/// Clocks differ a little between a phone and the server.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Why a contact time is refused, if it is.
pub fn contacted_at_problem(at: NaiveDateTime, now: NaiveDateTime) -> Option<&'static str> {
    if at > now + CLOCK_SKEW {
        Some("must not be in the future")
    } else if at < now - Duration::days(DAYS_BACK) {
        Some("must be within the last year")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn contacts_are_logged_after_they_happen_within_a_year() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 23)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("valid");
        assert_eq!(contacted_at_problem(now, now), None);
        assert_eq!(contacted_at_problem(now + Duration::minutes(4), now), None);
        assert!(contacted_at_problem(now + Duration::hours(1), now).is_some());
        assert_eq!(contacted_at_problem(now - Duration::days(366), now), None);
        assert!(contacted_at_problem(now - Duration::days(367), now).is_some());
        assert_eq!(Party::parse("employer"), Some(Party::Employer));
        assert_eq!(Channel::ALL.len(), 4);
        assert_eq!(Location::Community.as_str(), "community");
    }
}
