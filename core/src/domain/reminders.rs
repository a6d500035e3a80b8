//! When an interview's reminders go out.
//!
//! "24 hours before" is an absolute duration; quiet hours are a wall-clock rule in the
//! participant's own time zone. A reminder that would land inside quiet hours moves *earlier*,
//! to half an hour before the quiet hours began, never later (it must not arrive after the
//! interview has started). Local times are resolved explicitly, so the missing hour in March
//! and the repeated hour in October in Europe/Oslo give a definite answer.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::settings::QuietHours;

/// How long before quiet hours begin a reminder that would fall inside them is sent.
pub const BEFORE_QUIET_HOURS: Duration = Duration::minutes(30);

/// The local date on which the quiet window containing `local` began.
fn quiet_began_on(quiet: &QuietHours, local: NaiveDateTime) -> NaiveDate {
    if quiet.crosses_midnight() && local.time() < quiet.end {
        local.date() - Duration::days(1)
    } else {
        local.date()
    }
}

/// The instant a local wall-clock time names in `tz`: in a repeated hour the earlier one, in a
/// skipped hour the first instant after the gap.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // Gaps are at most a few hours; walk forward to the first valid minute.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&local)
        }
    }
}

/// One reminder to send: which offset it stands for and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub offset_minutes: i64,
    pub due_at: DateTime<Utc>,
    /// True when the time was moved earlier out of quiet hours.
    pub moved_for_quiet_hours: bool,
}

/// Plans the reminders for an interview starting at `starts_at`: one per offset, moved out of
/// quiet hours, dropping those already in the past at `now` and any that would coincide with an
/// earlier-planned one. Sorted by due time.
pub fn plan(
    starts_at: DateTime<Utc>,
    tz: Tz,
    offsets_minutes: &[i64],
    quiet: QuietHours,
    now: DateTime<Utc>,
) -> Vec<Planned> {
    let mut planned: Vec<Planned> = Vec::new();
    for &offset in offsets_minutes {
        let natural = starts_at - Duration::minutes(offset);
        let local = natural.with_timezone(&tz).naive_local();
        let (due_at, moved) = if quiet.contains(local.time()) {
            let began = quiet_began_on(&quiet, local);
            let quiet_start = resolve_local(tz, began.and_time(quiet.start));
            (quiet_start - BEFORE_QUIET_HOURS, true)
        } else {
            (natural, false)
        };
        if due_at <= now || due_at >= starts_at {
            continue;
        }
        if planned.iter().any(|p| p.due_at == due_at) {
            continue;
        }
        planned.push(Planned {
            offset_minutes: offset,
            due_at,
            moved_for_quiet_hours: moved,
        });
    }
    planned.sort_by_key(|p| p.due_at);
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;
    use chrono_tz::Europe::Oslo;

    fn oslo(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        resolve_local(
            Oslo,
            NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|d| d.and_hms_opt(h, min, 0))
                .expect("valid"),
        )
    }

    fn local(t: DateTime<Utc>) -> String {
        t.with_timezone(&Oslo).format("%Y-%m-%d %H:%M").to_string()
    }

    const NIGHT: QuietHours = QuietHours {
        start: match NaiveTime::from_hms_opt(22, 0, 0) {
            Some(t) => t,
            None => NaiveTime::MIN,
        },
        end: match NaiveTime::from_hms_opt(8, 0, 0) {
            Some(t) => t,
            None => NaiveTime::MIN,
        },
    };

    #[test]
    fn quiet_windows_across_and_within_a_day() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("time");
        assert!(NIGHT.contains(t(23, 0)) && NIGHT.contains(t(0, 0)) && NIGHT.contains(t(7, 59)));
        assert!(!NIGHT.contains(t(8, 0)) && !NIGHT.contains(t(21, 59)));
        let lunch = QuietHours {
            start: t(12, 0),
            end: t(13, 0),
        };
        assert!(
            lunch.contains(t(12, 30)) && !lunch.contains(t(13, 0)) && !lunch.contains(t(11, 0))
        );
    }

    #[test]
    fn default_offsets_on_an_ordinary_day() {
        let start = oslo(2026, 6, 10, 14, 0);
        let now = oslo(2026, 6, 1, 9, 0);
        let plan = plan(start, Oslo, &[1440, 120], NIGHT, now);
        let times: Vec<_> = plan.iter().map(|p| local(p.due_at)).collect();
        assert_eq!(times, vec!["2026-06-09 14:00", "2026-06-10 12:00"]);
        assert!(plan.iter().all(|p| !p.moved_for_quiet_hours));
    }

    #[test]
    fn a_reminder_in_quiet_hours_moves_to_the_evening_before() {
        // A 09:00 interview: the 2 h reminder would be 07:00, inside 22:00-08:00.
        let start = oslo(2026, 6, 10, 9, 0);
        let plan = plan(start, Oslo, &[1440, 120], NIGHT, oslo(2026, 6, 1, 0, 0));
        let times: Vec<_> = plan
            .iter()
            .map(|p| (local(p.due_at), p.offset_minutes, p.moved_for_quiet_hours))
            .collect();
        assert_eq!(
            times,
            vec![
                ("2026-06-09 09:00".into(), 1440, false),
                ("2026-06-09 21:30".into(), 120, true)
            ]
        );
    }

    #[test]
    fn a_reminder_just_after_midnight_belongs_to_the_window_that_began_the_night_before() {
        let start = oslo(2026, 6, 10, 2, 30);
        let plan = plan(start, Oslo, &[60], NIGHT, oslo(2026, 6, 1, 0, 0));
        assert_eq!(local(plan[0].due_at), "2026-06-09 21:30");
    }

    #[test]
    fn twenty_four_hours_across_the_spring_forward_night() {
        // Europe/Oslo skips 02:00-03:00 on Sunday 29 March 2026. 24 hours before Sunday 12:00
        // the clock said 11:00 on Saturday.
        let start = oslo(2026, 3, 29, 12, 0);
        let plan = plan(start, Oslo, &[1440], NIGHT, oslo(2026, 3, 1, 0, 0));
        assert_eq!(local(plan[0].due_at), "2026-03-28 11:00");
        assert_eq!(start - plan[0].due_at, Duration::hours(24));
    }

    #[test]
    fn twenty_four_hours_across_the_fall_back_night() {
        // Europe/Oslo repeats 02:00-03:00 on Sunday 25 October 2026. 24 hours before Sunday
        // 12:00 the clock said 13:00 on Saturday.
        let start = oslo(2026, 10, 25, 12, 0);
        let plan = plan(start, Oslo, &[1440], NIGHT, oslo(2026, 10, 1, 0, 0));
        assert_eq!(local(plan[0].due_at), "2026-10-24 13:00");
        assert_eq!(start - plan[0].due_at, Duration::hours(24));
    }

    #[test]
    fn a_repeated_local_hour_resolves_to_the_earlier_instant() {
        let repeated = NaiveDate::from_ymd_opt(2026, 10, 25)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .expect("valid");
        let at = resolve_local(Oslo, repeated);
        assert_eq!(
            at.format("%H:%M").to_string(),
            "00:30",
            "02:30 CEST is 00:30 UTC"
        );
    }

    #[test]
    fn quiet_hours_starting_in_a_skipped_hour_resolve_after_the_gap() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("time");
        let odd = QuietHours {
            start: t(2, 30),
            end: t(6, 0),
        };
        // A 06:30 interview on the spring-forward day with a 1 h reminder at 05:30: quiet, so it
        // moves before 02:30 local, which does not exist that night: the window begins at 03:00.
        let start = oslo(2026, 3, 29, 6, 30);
        let plan = plan(start, Oslo, &[60], odd, oslo(2026, 3, 1, 0, 0));
        // 03:00 CEST minus 30 minutes is 00:30 UTC, which is 01:30 CET on the clock.
        assert_eq!(local(plan[0].due_at), "2026-03-29 01:30");
    }

    #[test]
    fn past_reminders_are_dropped_and_never_after_the_start() {
        let start = oslo(2026, 6, 10, 14, 0);
        let now = oslo(2026, 6, 10, 11, 0);
        let plan = plan(start, Oslo, &[1440, 120], NIGHT, now);
        assert_eq!(plan.len(), 1);
        assert_eq!(local(plan[0].due_at), "2026-06-10 12:00");
        let too_late = super::plan(start, Oslo, &[1440, 120], NIGHT, oslo(2026, 6, 10, 13, 0));
        assert!(too_late.is_empty());
    }

    #[test]
    fn two_offsets_moved_to_the_same_time_send_once() {
        // A 07:00 interview: the 2 h (05:00) and 3 h (04:00) reminders both move to 21:30.
        let start = oslo(2026, 6, 10, 7, 0);
        let plan = plan(start, Oslo, &[180, 120], NIGHT, oslo(2026, 6, 1, 0, 0));
        assert_eq!(plan.len(), 1);
        assert_eq!(local(plan[0].due_at), "2026-06-09 21:30");
    }
}
