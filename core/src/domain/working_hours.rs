//! Working hours: a deadline "N working hours from now", for answering a participant's message.
//!
//! A working day is Monday to Friday between two wall-clock times (`IPS_WORKING_DAY`, default
//! `08:00-16:00`) in one time zone (`IPS_WORKING_TIME_ZONE`, default `Europe/Oslo`). The day's
//! opening and closing are turned into instants through the time zone, so a daylight-saving change
//! is counted as it happens. Public holidays are not modelled: a deadline may fall on one (the
//! alert then comes on that day, and the specialist may snooze it).

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    pub zone: Tz,
}

impl WorkingHours {
    /// Reads `HH:MM-HH:MM` (opening before closing, on the same day) and an IANA time zone.
    pub fn parse(day: &str, zone: &str) -> Result<Self, String> {
        let (opens, closes) = day
            .split_once('-')
            .ok_or_else(|| format!("{day:?} is not HH:MM-HH:MM"))?;
        let time = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| format!("{:?} is not a time of day (HH:MM)", t.trim()))
        };
        let (opens, closes) = (time(opens)?, time(closes)?);
        if opens >= closes {
            return Err(format!(
                "{day:?}: the working day must open before it closes, on the same day"
            ));
        }
        let zone = zone
            .trim()
            .parse::<Tz>()
            .map_err(|_| format!("{zone:?} is not an IANA time zone"))?;
        Ok(Self {
            opens,
            closes,
            zone,
        })
    }

    /// The instant `work` of working time after `from`. Time outside working hours does not
    /// count, so a message at 15:00 on a Friday with 8 working hours (08-16) is due at 15:00 on
    /// Monday; one sent at night is due 8 working hours after the next opening.
    pub fn add(&self, from: DateTime<Utc>, work: Duration) -> DateTime<Utc> {
        let mut left = work.max(Duration::zero());
        let mut cursor = from;
        // Each turn ends at a closing or the answer, so the loop runs about once per working day.
        loop {
            let date = cursor.with_timezone(&self.zone).date_naive();
            if !is_working_day(date) {
                cursor = self.opening(next_working_day(date));
                continue;
            }
            let (opening, closing) = (self.opening(date), self.closing(date));
            if cursor < opening {
                cursor = opening;
            }
            if cursor >= closing {
                cursor = self.opening(next_working_day(date));
                continue;
            }
            let room = closing - cursor;
            if left <= room {
                return cursor + left;
            }
            left -= room;
            cursor = self.opening(next_working_day(date));
        }
    }

    fn opening(&self, date: NaiveDate) -> DateTime<Utc> {
        instant(self.zone, date, self.opens)
    }

    fn closing(&self, date: NaiveDate) -> DateTime<Utc> {
        instant(self.zone, date, self.closes)
    }
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self {
            opens: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
            closes: NaiveTime::from_hms_opt(16, 0, 0).unwrap_or(NaiveTime::MIN),
            zone: chrono_tz::Europe::Oslo,
        }
    }
}

fn is_working_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn next_working_day(date: NaiveDate) -> NaiveDate {
    let mut next = date.succ_opt().unwrap_or(date);
    while !is_working_day(next) {
        next = next.succ_opt().unwrap_or(next);
    }
    next
}

/// The instant a wall-clock time happens on a date: the first of two when the clock is turned
/// back, and the first valid minute after it when the clock skips it (turned forward).
fn instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => {
            // A gap is at most a few hours; step through it a minute at a time.
            (1..=24 * 60)
                .map(|m| local + Duration::minutes(m))
                .find_map(|t| zone.from_local_datetime(&t).earliest())
                .map(|at| at.with_timezone(&Utc))
                .unwrap_or_else(|| local.and_utc())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Oslo;

    fn oslo(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Oslo.with_ymd_and_hms(y, m, d, h, min, 0)
            .earliest()
            .expect("a valid Oslo time")
            .with_timezone(&Utc)
    }

    fn hours(h: i64) -> Duration {
        Duration::hours(h)
    }

    #[test]
    fn within_one_day() {
        let wh = WorkingHours::default();
        // Monday 23 November 2026, 09:00 + 3 h = 12:00.
        assert_eq!(
            wh.add(oslo(2026, 11, 23, 9, 0), hours(3)),
            oslo(2026, 11, 23, 12, 0)
        );
        // Up to the closing exactly.
        assert_eq!(
            wh.add(oslo(2026, 11, 23, 8, 0), hours(8)),
            oslo(2026, 11, 23, 16, 0)
        );
    }

    #[test]
    fn carries_over_night_and_weekend() {
        let wh = WorkingHours::default();
        // Monday 15:00 + 8 h: 1 h on Monday, 7 h on Tuesday = Tuesday 15:00.
        assert_eq!(
            wh.add(oslo(2026, 11, 23, 15, 0), hours(8)),
            oslo(2026, 11, 24, 15, 0)
        );
        // Friday 15:00 + 8 h = Monday 15:00.
        assert_eq!(
            wh.add(oslo(2026, 11, 27, 15, 0), hours(8)),
            oslo(2026, 11, 30, 15, 0)
        );
        // Saturday noon counts from Monday's opening.
        assert_eq!(
            wh.add(oslo(2026, 11, 28, 12, 0), hours(8)),
            oslo(2026, 11, 30, 16, 0)
        );
        // Before opening and after closing.
        assert_eq!(
            wh.add(oslo(2026, 11, 24, 6, 30), hours(1)),
            oslo(2026, 11, 24, 9, 0)
        );
        assert_eq!(
            wh.add(oslo(2026, 11, 24, 22, 0), hours(1)),
            oslo(2026, 11, 25, 9, 0)
        );
        // Many days: 40 h is one working week.
        assert_eq!(
            wh.add(oslo(2026, 11, 23, 10, 0), hours(40)),
            oslo(2026, 11, 30, 10, 0)
        );
    }

    #[test]
    fn zero_is_the_next_working_moment() {
        let wh = WorkingHours::default();
        assert_eq!(
            wh.add(oslo(2026, 11, 23, 10, 0), Duration::zero()),
            oslo(2026, 11, 23, 10, 0)
        );
        assert_eq!(
            wh.add(oslo(2026, 11, 28, 10, 0), Duration::zero()),
            oslo(2026, 11, 30, 8, 0)
        );
    }

    #[test]
    fn daylight_saving_changes_count_as_they_happen() {
        let wh = WorkingHours::default();
        // Friday 27 March 2026 15:00 CET + 8 h: the clocks go forward on Sunday the 29th, and
        // Monday's 15:00 is CEST: 13:00 UTC instead of 14:00.
        let due = wh.add(oslo(2026, 3, 27, 15, 0), hours(8));
        assert_eq!(due, oslo(2026, 3, 30, 15, 0));
        assert_eq!(due.to_rfc3339(), "2026-03-30T13:00:00+00:00");
        // And back in October: Friday 23rd 15:00 CEST to Monday 26th 15:00 CET (14:00 UTC).
        let due = wh.add(oslo(2026, 10, 23, 15, 0), hours(8));
        assert_eq!(due.to_rfc3339(), "2026-10-26T14:00:00+00:00");
    }

    #[test]
    fn wall_clock_times_in_a_clock_change() {
        // In New York the clocks skip 02:00-03:00 on Sunday 8 March 2026: a time in the gap is
        // the first real minute after it.
        let gap = instant(
            chrono_tz::America::New_York,
            NaiveDate::from_ymd_opt(2026, 3, 8).expect("date"),
            NaiveTime::from_hms_opt(2, 30, 0).expect("time"),
        );
        assert_eq!(gap.to_rfc3339(), "2026-03-08T07:00:00+00:00");
        // When the clock is turned back, 01:30 happens twice: the first one counts.
        let twice = instant(
            chrono_tz::America::New_York,
            NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
            NaiveTime::from_hms_opt(1, 30, 0).expect("time"),
        );
        assert_eq!(twice.to_rfc3339(), "2026-11-01T05:30:00+00:00");
    }

    #[test]
    fn parsing() {
        let wh = WorkingHours::parse("08:00-16:00", "Europe/Oslo").expect("the default");
        assert_eq!(wh, WorkingHours::default());
        assert!(WorkingHours::parse(" 07:30 - 15:00 ", "Europe/Oslo").is_ok());
        assert!(WorkingHours::parse("16:00-08:00", "Europe/Oslo").is_err());
        assert!(WorkingHours::parse("08:00", "Europe/Oslo").is_err());
        assert!(WorkingHours::parse("8-16", "Europe/Oslo").is_err());
        assert!(WorkingHours::parse("08:00-16:00", "Europe/Atlantis").is_err());
    }
}
