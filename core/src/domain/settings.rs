//! A participant's notification settings: quiet hours and how long before an interview to remind.
//!
//! Quiet hours are local wall-clock times in the participant's own time zone ("HH:MM"); the
//! window may cross midnight (22:00-08:00). Reminder offsets are minutes before the event.

use chrono::{NaiveTime, Timelike};

/// The defaults a new participant gets (the migration's column defaults say the same).
pub const DEFAULT_QUIET_HOURS_START: &str = "22:00";
pub const DEFAULT_QUIET_HOURS_END: &str = "08:00";
pub const DEFAULT_REMINDER_OFFSETS: &[i32] = &[1440, 120];

/// Reminder offsets: at least one, at most five, from five minutes to a week before.
pub const MAX_REMINDER_OFFSETS: usize = 5;
pub const MIN_REMINDER_OFFSET_MINUTES: i64 = 5;
pub const MAX_REMINDER_OFFSET_MINUTES: i64 = 10_080;

/// Reads a wall-clock time written exactly `HH:MM` (24-hour, two digits each, 00:00-23:59).
/// Anything looser ("7:30", "07:30:00", "24:00") is refused, so what is stored is what is shown.
pub fn parse_clock(text: &str) -> Option<NaiveTime> {
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return None;
    }
    let digits = [bytes[0], bytes[1], bytes[3], bytes[4]];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let hour = u32::from(digits[0] - b'0') * 10 + u32::from(digits[1] - b'0');
    let minute = u32::from(digits[2] - b'0') * 10 + u32::from(digits[3] - b'0');
    NaiveTime::from_hms_opt(hour, minute, 0)
}

/// The `HH:MM` form of a wall-clock time.
pub fn format_clock(time: NaiveTime) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// A nightly window in local wall-clock time during which no reminder is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// A window from `start` up to (not including) `end`. Equal ends would be either no window
    /// or the whole day; neither is a sensible quiet period, so they are refused.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, &'static str> {
        if start == end {
            return Err("must differ from start");
        }
        Ok(Self { start, end })
    }

    /// From stored `HH:MM` text.
    pub fn parse(start: &str, end: &str) -> Option<Self> {
        Self::new(parse_clock(start)?, parse_clock(end)?).ok()
    }

    pub fn crosses_midnight(&self) -> bool {
        self.end < self.start
    }

    /// Whether a local wall-clock time falls inside the window.
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.crosses_midnight() {
            time >= self.start || time < self.end
        } else {
            time >= self.start && time < self.end
        }
    }
}

/// Checks reminder offsets and returns them as stored: distinct, sorted largest first.
pub fn normalise_reminder_offsets(offsets: &[i64]) -> Result<Vec<i32>, String> {
    if offsets.is_empty() || offsets.len() > MAX_REMINDER_OFFSETS {
        return Err(format!(
            "must hold 1 to {MAX_REMINDER_OFFSETS} offsets in minutes"
        ));
    }
    let range = MIN_REMINDER_OFFSET_MINUTES..=MAX_REMINDER_OFFSET_MINUTES;
    if let Some(bad) = offsets.iter().find(|o| !range.contains(o)) {
        return Err(format!(
            "{bad} is outside {MIN_REMINDER_OFFSET_MINUTES} to {MAX_REMINDER_OFFSET_MINUTES} minutes (5 minutes to a week)"
        ));
    }
    let mut sorted: Vec<i32> = offsets
        .iter()
        .filter_map(|o| i32::try_from(*o).ok())
        .collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    if sorted.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err("must not repeat an offset".into());
    }
    Ok(sorted)
}

/// The stored form of reminder offsets: a JSON list.
pub fn encode_reminder_offsets(offsets: &[i32]) -> String {
    serde_json::to_string(offsets).unwrap_or_else(|_| "[]".into())
}

/// Reads stored reminder offsets; `None` if the text is not a valid list of offsets.
pub fn decode_reminder_offsets(text: &str) -> Option<Vec<i32>> {
    let raw: Vec<i64> = serde_json::from_str(text).ok()?;
    normalise_reminder_offsets(&raw).ok()
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap should fail loudly"
)]
mod tests {
    use super::*;

    fn t(text: &str) -> NaiveTime {
        parse_clock(text).unwrap_or_else(|| panic!("{text} parses"))
    }

    #[test]
    fn clock_times_are_strict_hh_mm() {
        assert_eq!(parse_clock("00:00"), NaiveTime::from_hms_opt(0, 0, 0));
        assert_eq!(parse_clock("23:59"), NaiveTime::from_hms_opt(23, 59, 0));
        assert_eq!(parse_clock("07:05"), NaiveTime::from_hms_opt(7, 5, 0));
        for bad in [
            "24:00",
            "23:60",
            "7:30",
            "07:5",
            "07:30:00",
            "07-30",
            "ab:cd",
            "",
            " 7:30",
            "０７:３０",
            "+7:30",
        ] {
            assert_eq!(parse_clock(bad), None, "{bad:?}");
        }
        assert_eq!(format_clock(t("07:05")), "07:05");
    }

    #[test]
    fn quiet_hours_may_cross_midnight() {
        let night = QuietHours::new(t("22:00"), t("08:00")).unwrap();
        assert!(night.crosses_midnight());
        assert!(night.contains(t("22:00")));
        assert!(night.contains(t("23:59")));
        assert!(night.contains(t("00:00")));
        assert!(night.contains(t("07:59")));
        assert!(!night.contains(t("08:00")));
        assert!(!night.contains(t("12:00")));
        assert!(!night.contains(t("21:59")));

        let afternoon = QuietHours::new(t("13:00"), t("15:30")).unwrap();
        assert!(!afternoon.crosses_midnight());
        assert!(afternoon.contains(t("13:00")));
        assert!(afternoon.contains(t("15:29")));
        assert!(!afternoon.contains(t("15:30")));
        assert!(!afternoon.contains(t("02:00")));
    }

    #[test]
    fn an_empty_window_is_refused() {
        assert!(QuietHours::new(t("22:00"), t("22:00")).is_err());
        assert_eq!(QuietHours::parse("22:00", "22:00"), None);
        assert_eq!(
            QuietHours::parse(DEFAULT_QUIET_HOURS_START, DEFAULT_QUIET_HOURS_END),
            Some(QuietHours {
                start: t("22:00"),
                end: t("08:00")
            })
        );
    }

    #[test]
    fn reminder_offsets_are_sorted_largest_first() {
        assert_eq!(
            normalise_reminder_offsets(&[120, 1440, 30]),
            Ok(vec![1440, 120, 30])
        );
        assert_eq!(normalise_reminder_offsets(&[5]), Ok(vec![5]));
        assert_eq!(normalise_reminder_offsets(&[10_080]), Ok(vec![10_080]));
    }

    #[test]
    fn reminder_offsets_are_checked() {
        assert!(normalise_reminder_offsets(&[]).is_err());
        assert!(normalise_reminder_offsets(&[10, 20, 30, 40, 50, 60]).is_err());
        assert!(normalise_reminder_offsets(&[4]).is_err());
        assert!(normalise_reminder_offsets(&[10_081]).is_err());
        assert!(normalise_reminder_offsets(&[-60]).is_err());
        assert!(normalise_reminder_offsets(&[i64::MAX]).is_err());
        assert!(normalise_reminder_offsets(&[60, 60]).is_err());
    }

    #[test]
    fn stored_offsets_round_trip() {
        let stored = encode_reminder_offsets(DEFAULT_REMINDER_OFFSETS);
        assert_eq!(stored, "[1440,120]");
        assert_eq!(
            decode_reminder_offsets(&stored).as_deref(),
            Some(DEFAULT_REMINDER_OFFSETS)
        );
        assert_eq!(decode_reminder_offsets("not json"), None);
        assert_eq!(decode_reminder_offsets("[]"), None);
    }
}
