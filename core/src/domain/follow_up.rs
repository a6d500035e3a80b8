//! The follow-up plan: when the next contact with a participant is due (docs/follow-up.md, "The
//! follow-up plan"; IPS principle 6, follow-up without end).
//!
//! A plan has a phase, a cadence in days, the last contact that reached the participant, an
//! optional agreed next contact, and `due_at`. The due time is:
//! - while paused: the resume date, unless the participant was reached on or after it;
//! - otherwise the agreed next contact, if there is one;
//! - otherwise the last contact (or the plan's start, whichever is later) plus the cadence,
//!   brought forward to the deadline the IPS fidelity scale's follow-along item (23) sets around
//!   a job start and a job loss: a contact within the week before the start (so: by the start),
//!   the first contact after the start within 3 days, weekly in the first month, then monthly; a
//!   contact within 3 days of a job loss, then weekly job search.
//!
//! Every time here is naive UTC, as stored. Where a *date* matters (a cadence of 7 days is the
//! same wall-clock time a week later; "within 3 days of the start" counts the participant's
//! calendar days) it is computed in the participant's IANA time zone, so a daylight-saving change
//! or a month end gives the answer a person would expect. Nothing here reads a clock: `now` is
//! always passed in.

use chrono::{Days, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::reminders::resolve_local;
use super::ParticipantStatus;

/// The configured numbers the follow-up rules use (`IPS_ALERT_FOLLOW_UP_LEAD_HOURS`,
/// `IPS_ALERT_NO_EMPLOYER_CONTACT_DAYS`, `IPS_OUTREACH_ATTEMPTS_BEFORE_CLOSING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// How long before `due_at` the "follow-up due" alert is raised.
    pub lead: Duration,
    /// How long after enrolment without an employer contact the "no employer contact" alert is raised.
    pub no_employer_contact: Duration,
    /// Unreached outreach attempts needed before closing a case for lost contact.
    pub outreach_attempts_before_closing: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            lead: Duration::hours(24),
            no_employer_contact: Duration::days(30),
            outreach_attempts_before_closing: 3,
        }
    }
}

/// Where a participant is in their follow-up, which sets the default cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    JobSearch,
    BeforeJobStart,
    NewJob,
    EstablishedJob,
    Education,
    AfterJobLoss,
}

impl Phase {
    pub const ALL: &'static [Phase] = &[
        Phase::JobSearch,
        Phase::BeforeJobStart,
        Phase::NewJob,
        Phase::EstablishedJob,
        Phase::Education,
        Phase::AfterJobLoss,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::JobSearch => "job_search",
            Phase::BeforeJobStart => "before_job_start",
            Phase::NewJob => "new_job",
            Phase::EstablishedJob => "established_job",
            Phase::Education => "education",
            Phase::AfterJobLoss => "after_job_loss",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Phase::ALL.iter().copied().find(|p| p.as_str() == text)
    }

    /// The cadence a phase starts with (the doc's table). Before a job starts the deadline is the
    /// start itself, and the weekly rhythm of job search carries on until then.
    pub fn default_cadence_days(self) -> i32 {
        match self {
            Phase::JobSearch | Phase::BeforeJobStart | Phase::NewJob | Phase::AfterJobLoss => 7,
            Phase::EstablishedJob | Phase::Education => 30,
        }
    }

    /// The phases shaped by a current job's start date.
    pub fn follows_a_job_start(self) -> bool {
        matches!(
            self,
            Phase::BeforeJobStart | Phase::NewJob | Phase::EstablishedJob
        )
    }

    /// Order along a job: before the start, the first month, after it.
    fn job_rank(self) -> u8 {
        match self {
            Phase::BeforeJobStart => 0,
            Phase::NewJob => 1,
            _ => 2,
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shortest and longest cadence a plan may have (the column's CHECK says the same).
pub const MIN_CADENCE_DAYS: i32 = 1;
pub const MAX_CADENCE_DAYS: i32 = 366;

/// A plan's state, as far as the due time depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub phase: Phase,
    pub cadence_days: i32,
    /// The agreed next contact, if any.
    pub next_contact_at: Option<NaiveDateTime>,
    /// The last contact that reached the participant.
    pub last_contact_at: Option<NaiveDateTime>,
    /// When the plan's current rhythm began: the enrolment, a resume after a pause, a reopening.
    pub started_at: NaiveDateTime,
    /// When a pause ends (the start of the resume date in the participant's zone).
    pub paused_until: Option<NaiveDateTime>,
}

/// The job dates that shape a plan (local calendar dates, as jobs record them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobDates {
    /// The start date of the participant's newest current (not ended) job.
    pub current_start: Option<NaiveDate>,
    /// The end date of the job that ended last.
    pub last_end: Option<NaiveDate>,
}

/// The participant's local calendar date at `at`.
pub fn local_date(at: NaiveDateTime, tz: Tz) -> NaiveDate {
    tz.from_utc_datetime(&at).date_naive()
}

/// The instant the local `date` begins in `tz` (the first instant after a skipped midnight).
pub fn start_of_day(date: NaiveDate, tz: Tz) -> NaiveDateTime {
    resolve_local(tz, date.and_time(NaiveTime::MIN)).naive_utc()
}

/// The instant the local `date` ends: the start of the next day.
pub fn end_of_day(date: NaiveDate, tz: Tz) -> NaiveDateTime {
    start_of_day(date.checked_add_days(Days::new(1)).unwrap_or(date), tz)
}

/// The same wall-clock time `days` calendar days later in `tz` (7 days after Friday 10:00 is
/// the next Friday 10:00, also across a daylight-saving change).
pub fn add_local_days(at: NaiveDateTime, days: i32, tz: Tz) -> NaiveDateTime {
    let local = tz.from_utc_datetime(&at).naive_local();
    let shifted = u64::try_from(days)
        .ok()
        .and_then(|d| local.checked_add_days(Days::new(d)))
        .unwrap_or(local);
    resolve_local(tz, shifted).naive_utc()
}

fn days_after(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(date)
}

fn days_before(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days)).unwrap_or(date)
}

/// The end of the first month of a job that starts on `start` (a start on 31 January gives the
/// last day of February: chrono clamps to the month's end).
pub fn first_month_ends(start: NaiveDate) -> NaiveDate {
    start.checked_add_months(Months::new(1)).unwrap_or(start)
}

/// The phase the dates say for a current job starting on `start`: before it, its first month, after.
pub fn job_phase(start: NaiveDate, tz: Tz, now: NaiveDateTime) -> Phase {
    let today = local_date(now, tz);
    if today < start {
        Phase::BeforeJobStart
    } else if today < first_month_ends(start) {
        Phase::NewJob
    } else {
        Phase::EstablishedJob
    }
}

/// Whether the participant was reached at or after `since`.
fn reached_since(plan: &Plan, since: NaiveDateTime) -> bool {
    plan.last_contact_at.is_some_and(|c| c >= since)
}

/// The deadline the fidelity scale's follow-along item (23) sets for the plan's phase, if any:
/// - before a job starts: by the start, unless the participant was reached in the week before it;
/// - from the start (or once the week before it was covered): the first contact after the start
///   by the end of the third day after it;
/// - after a job loss: a contact by the end of the third day after the job's last day.
///
/// Once the participant has been reached after the start (or after the loss), the cadence rules.
pub fn fidelity_deadline(
    plan: &Plan,
    jobs: &JobDates,
    tz: Tz,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    match plan.phase {
        Phase::BeforeJobStart | Phase::NewJob => {
            let start = jobs.current_start?;
            let starts = start_of_day(start, tz);
            if reached_since(plan, starts) {
                return None;
            }
            let week_before = start_of_day(days_before(start, 7), tz);
            // Once the job has begun, the contact before it can no longer be had: the first
            // contact after the start is what is due.
            if now >= starts || reached_since(plan, week_before) {
                Some(end_of_day(days_after(start, 3), tz))
            } else {
                Some(starts)
            }
        }
        Phase::AfterJobLoss => {
            let end = jobs.last_end?;
            if reached_since(plan, start_of_day(end, tz)) {
                return None;
            }
            Some(end_of_day(days_after(end, 3), tz))
        }
        Phase::JobSearch | Phase::EstablishedJob | Phase::Education => None,
    }
}

/// When the next contact is due, or `None` for a closed case (follow-up has ended).
pub fn due_at(
    plan: &Plan,
    jobs: &JobDates,
    tz: Tz,
    now: NaiveDateTime,
    closed: bool,
) -> Option<NaiveDateTime> {
    if closed {
        return None;
    }
    let base = plan
        .last_contact_at
        .map_or(plan.started_at, |c| c.max(plan.started_at));
    if let Some(until) = plan.paused_until {
        // No follow-up is due during a pause; it falls due when the pause ends, unless the
        // participant has been reached since, and then the rhythm carries on from that contact.
        if base < until {
            return Some(until);
        }
    }
    if let Some(agreed) = plan.next_contact_at {
        return Some(agreed);
    }
    let rhythm = add_local_days(base, plan.cadence_days, tz);
    Some(match fidelity_deadline(plan, jobs, tz, now) {
        Some(deadline) => rhythm.min(deadline),
        None => rhythm,
    })
}

/// Whether a contact that reached the participant at `contact_at` is the agreed one (or later):
/// it happened on the agreed local day or after it, so the agreement is fulfilled.
pub fn fulfils_agreement(contact_at: NaiveDateTime, agreed: NaiveDateTime, tz: Tz) -> bool {
    local_date(contact_at, tz) >= local_date(agreed, tz)
}

/// Moves a plan's phase forward as time passes, never back: a job that has started leaves
/// `before_job_start` for `new_job`, whose first month over leaves it for `established_job`; a
/// participant reached after a job loss is back to job search. Returns the new phase when it
/// changed.
pub fn advance(plan: &Plan, jobs: &JobDates, tz: Tz, now: NaiveDateTime) -> Option<Phase> {
    let next = match plan.phase {
        Phase::BeforeJobStart | Phase::NewJob => {
            let dated = job_phase(jobs.current_start?, tz, now);
            if dated.job_rank() > plan.phase.job_rank() {
                dated
            } else {
                plan.phase
            }
        }
        Phase::AfterJobLoss => {
            let end = jobs.last_end?;
            if reached_since(plan, start_of_day(end, tz)) {
                Phase::JobSearch
            } else {
                plan.phase
            }
        }
        Phase::JobSearch | Phase::EstablishedJob | Phase::Education => plan.phase,
    };
    (next != plan.phase).then_some(next)
}

/// The phase a status change puts the plan in: job seeking is job search, education is
/// education; in work keeps a job phase, or takes the one the current job's dates say; a pause
/// or a closure keeps the phase.
pub fn phase_for_status(
    to: ParticipantStatus,
    current: Phase,
    jobs: &JobDates,
    tz: Tz,
    now: NaiveDateTime,
) -> Phase {
    match to {
        ParticipantStatus::JobSeeking => Phase::JobSearch,
        ParticipantStatus::InEducation => Phase::Education,
        ParticipantStatus::InWork if current.follows_a_job_start() => current,
        ParticipantStatus::InWork => jobs
            .current_start
            .map_or(Phase::NewJob, |start| job_phase(start, tz, now)),
        ParticipantStatus::Referred | ParticipantStatus::Paused | ParticipantStatus::Closed => {
            current
        }
    }
}

/// An agreed next contact survives a reshaping only if it is no later than the deadline the
/// reshaped plan must meet: an agreement may bring a contact forward, never past item 23.
pub fn keep_agreement(
    agreed: Option<NaiveDateTime>,
    deadline: Option<NaiveDateTime>,
) -> Option<NaiveDateTime> {
    match (agreed, deadline) {
        (Some(a), Some(d)) if a > d => None,
        (a, _) => a,
    }
}

/// Where the scanner's follow-up check stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStage {
    /// Next, raise the "follow-up due" alert.
    Due,
    /// Next, raise the "follow-up overdue" alert.
    Overdue,
}

impl CheckStage {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStage::Due => "due",
            CheckStage::Overdue => "overdue",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "due" => Some(CheckStage::Due),
            "overdue" => Some(CheckStage::Overdue),
            _ => None,
        }
    }
}

/// `follow_up_plans.follow_up_check_at` and `follow_up_check_stage` together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowUpCheck {
    pub at: Option<NaiveDateTime>,
    pub stage: Option<CheckStage>,
}

/// The scanner's first look at a plan whose due time was just set (or moved, or cleared): the
/// "due" alert `lead` before `due_at`; nothing for a plan with no due time (a closed case).
/// Every write that changes `due_at` must store this with it, so the scan finds the plan through
/// its index alone.
pub fn first_check(due_at: Option<NaiveDateTime>, lead: Duration) -> FollowUpCheck {
    match due_at {
        Some(due) => FollowUpCheck {
            at: Some(due.checked_sub_signed(lead).unwrap_or(due)),
            stage: Some(CheckStage::Due),
        },
        None => FollowUpCheck {
            at: None,
            stage: None,
        },
    }
}

/// When the "no employer contact" watch of a participant enrolled at `enrolled_at` looks.
pub fn employer_check_at(enrolled_at: NaiveDateTime, rules: &Rules) -> NaiveDateTime {
    enrolled_at
        .checked_add_signed(rules.no_employer_contact)
        .unwrap_or(enrolled_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Oslo;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    /// A local wall-clock time in `tz`, as naive UTC.
    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        resolve_local(
            tz,
            date(y, m, d).and_hms_opt(h, min, 0).expect("valid time"),
        )
        .naive_utc()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        date(y, m, d).and_hms_opt(h, min, 0).expect("valid time")
    }

    fn oslo(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        at(Oslo, y, m, d, h, min)
    }

    fn plan(phase: Phase, started_at: NaiveDateTime) -> Plan {
        Plan {
            phase,
            cadence_days: phase.default_cadence_days(),
            next_contact_at: None,
            last_contact_at: None,
            started_at,
            paused_until: None,
        }
    }

    fn no_jobs() -> JobDates {
        JobDates::default()
    }

    #[test]
    fn phases_round_trip_and_have_their_cadence() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Phase::parse("holiday"), None);
        assert_eq!(Phase::JobSearch.default_cadence_days(), 7);
        assert_eq!(Phase::NewJob.default_cadence_days(), 7);
        assert_eq!(Phase::AfterJobLoss.default_cadence_days(), 7);
        assert_eq!(Phase::EstablishedJob.default_cadence_days(), 30);
        assert_eq!(Phase::Education.default_cadence_days(), 30);
    }

    #[test]
    fn the_first_check_is_the_lead_before_due() {
        let due = utc(2026, 12, 1, 9, 0);
        assert_eq!(
            first_check(Some(due), Duration::hours(24)),
            FollowUpCheck {
                at: Some(utc(2026, 11, 30, 9, 0)),
                stage: Some(CheckStage::Due)
            }
        );
        assert_eq!(
            first_check(Some(due), Duration::zero()).at,
            Some(due),
            "no lead: at the due time"
        );
        assert_eq!(
            first_check(None, Duration::hours(24)),
            FollowUpCheck {
                at: None,
                stage: None
            }
        );
        assert_eq!(CheckStage::parse("overdue"), Some(CheckStage::Overdue));
        assert_eq!(CheckStage::Due.as_str(), "due");
    }

    #[test]
    fn the_employer_watch_is_days_after_enrolment() {
        let enrolled = utc(2026, 11, 23, 8, 15);
        assert_eq!(
            employer_check_at(enrolled, &Rules::default()),
            utc(2026, 12, 23, 8, 15)
        );
        let rules = Rules {
            no_employer_contact: Duration::days(21),
            ..Rules::default()
        };
        assert_eq!(
            employer_check_at(enrolled, &rules),
            utc(2026, 12, 14, 8, 15)
        );
    }

    #[test]
    fn a_new_plan_is_due_a_cadence_after_its_start() {
        let start = oslo(2026, 11, 23, 10, 0);
        let p = plan(Phase::JobSearch, start);
        assert_eq!(
            due_at(&p, &no_jobs(), Oslo, start, false),
            Some(oslo(2026, 11, 30, 10, 0))
        );
        assert_eq!(
            due_at(&p, &no_jobs(), Oslo, start, true),
            None,
            "a closed case has nothing due"
        );
    }

    #[test]
    fn a_cadence_keeps_the_wall_clock_time_across_daylight_saving() {
        // Oslo moves from CET to CEST on Sunday 29 March 2026 and back on Sunday 25 October.
        let friday = oslo(2026, 3, 27, 10, 0);
        assert_eq!(friday, utc(2026, 3, 27, 9, 0));
        let p = Plan {
            last_contact_at: Some(friday),
            ..plan(Phase::JobSearch, oslo(2026, 3, 1, 9, 0))
        };
        let due = due_at(&p, &no_jobs(), Oslo, friday, false);
        assert_eq!(due, Some(oslo(2026, 4, 3, 10, 0)));
        assert_eq!(
            due,
            Some(utc(2026, 4, 3, 8, 0)),
            "one hour less than 7 x 24 h"
        );
        let autumn = Plan {
            last_contact_at: Some(oslo(2026, 10, 23, 10, 0)),
            ..p
        };
        assert_eq!(
            due_at(&autumn, &no_jobs(), Oslo, friday, false),
            Some(utc(2026, 10, 30, 9, 0)),
            "one hour more than 7 x 24 h"
        );
    }

    #[test]
    fn a_local_time_that_does_not_exist_moves_past_the_gap() {
        // 02:30 on 29 March 2026 does not exist in Oslo; a week after Sunday 22 March 02:30 is 03:00.
        let sunday = oslo(2026, 3, 22, 2, 30);
        assert_eq!(add_local_days(sunday, 7, Oslo), oslo(2026, 3, 29, 3, 0));
        // 02:30 on 25 October 2026 happens twice; the earlier one is taken.
        let before = oslo(2026, 10, 18, 2, 30);
        assert_eq!(add_local_days(before, 7, Oslo), utc(2026, 10, 25, 0, 30));
    }

    #[test]
    fn the_last_contact_resets_the_rhythm_and_the_start_is_the_floor() {
        let started = oslo(2026, 11, 23, 10, 0);
        let reached = Plan {
            last_contact_at: Some(oslo(2026, 11, 26, 13, 30)),
            ..plan(Phase::JobSearch, started)
        };
        assert_eq!(
            due_at(&reached, &no_jobs(), Oslo, started, false),
            Some(oslo(2026, 12, 3, 13, 30))
        );
        // A contact from before a resume does not make the resumed plan overdue at once.
        let resumed = Plan {
            last_contact_at: Some(oslo(2026, 10, 1, 9, 0)),
            ..plan(Phase::JobSearch, started)
        };
        assert_eq!(
            due_at(&resumed, &no_jobs(), Oslo, started, false),
            Some(oslo(2026, 11, 30, 10, 0))
        );
        let monthly = Plan {
            cadence_days: 30,
            ..reached
        };
        assert_eq!(
            due_at(&monthly, &no_jobs(), Oslo, started, false),
            Some(oslo(2026, 12, 26, 13, 30))
        );
    }

    #[test]
    fn an_agreed_next_contact_is_the_due_time() {
        let started = oslo(2026, 11, 23, 10, 0);
        let agreed = oslo(2026, 12, 10, 14, 0);
        let p = Plan {
            next_contact_at: Some(agreed),
            ..plan(Phase::JobSearch, started)
        };
        assert_eq!(due_at(&p, &no_jobs(), Oslo, started, false), Some(agreed));
        assert!(fulfils_agreement(oslo(2026, 12, 10, 9, 0), agreed, Oslo));
        assert!(fulfils_agreement(oslo(2026, 12, 11, 9, 0), agreed, Oslo));
        assert!(!fulfils_agreement(oslo(2026, 12, 9, 23, 59), agreed, Oslo));
        // The day is the participant's: 04:00 UTC on 10 December is still the 9th in New York
        // (23:00), where the agreed 08:00 UTC is the 10th; in Oslo both are the 10th.
        let ny_agreed = utc(2026, 12, 10, 8, 0);
        assert!(!fulfils_agreement(
            utc(2026, 12, 10, 4, 0),
            ny_agreed,
            New_York
        ));
        assert!(fulfils_agreement(utc(2026, 12, 10, 4, 0), ny_agreed, Oslo));
    }

    #[test]
    fn a_pause_falls_due_on_the_resume_date() {
        let started = oslo(2026, 11, 23, 10, 0);
        let resumes = start_of_day(date(2027, 1, 4), Oslo);
        assert_eq!(resumes, utc(2027, 1, 3, 23, 0));
        let paused = Plan {
            paused_until: Some(resumes),
            last_contact_at: Some(oslo(2026, 11, 30, 10, 0)),
            ..plan(Phase::JobSearch, started)
        };
        assert_eq!(
            due_at(&paused, &no_jobs(), Oslo, started, false),
            Some(resumes)
        );
        // Reached on the resume day while still paused: the rhythm carries on from there.
        let reached_after = Plan {
            last_contact_at: Some(oslo(2027, 1, 4, 12, 0)),
            ..paused
        };
        assert_eq!(
            due_at(&reached_after, &no_jobs(), Oslo, started, false),
            Some(oslo(2027, 1, 11, 12, 0))
        );
        // Across the spring change: the resume date's start is local midnight, CEST.
        assert_eq!(
            start_of_day(date(2026, 3, 30), Oslo),
            utc(2026, 3, 29, 22, 0)
        );
    }

    #[test]
    fn a_job_in_the_future_is_due_by_its_start() {
        // Enrolled on Monday 23 November, a job recorded the same day to start on Wednesday 25th.
        let now = oslo(2026, 11, 23, 10, 0);
        let jobs = JobDates {
            current_start: Some(date(2026, 11, 25)),
            last_end: None,
        };
        assert_eq!(
            job_phase(date(2026, 11, 25), Oslo, now),
            Phase::BeforeJobStart
        );
        let p = plan(Phase::BeforeJobStart, now);
        assert_eq!(
            due_at(&p, &jobs, Oslo, now, false),
            Some(oslo(2026, 11, 25, 0, 0)),
            "the start comes before the weekly rhythm"
        );
        // A start further ahead: the weekly rhythm comes first.
        let later = JobDates {
            current_start: Some(date(2026, 12, 14)),
            last_end: None,
        };
        assert_eq!(
            due_at(&p, &later, Oslo, now, false),
            Some(oslo(2026, 11, 30, 10, 0))
        );
    }

    #[test]
    fn reached_in_the_week_before_the_start_then_within_three_days_after() {
        let jobs = JobDates {
            current_start: Some(date(2026, 12, 1)),
            last_end: None,
        };
        let now = oslo(2026, 11, 30, 15, 0);
        // Reached the day before the start: the first contact after it is due by the end of
        // the third day after the start (4 December), before the weekly rhythm (7 December).
        let p = Plan {
            last_contact_at: Some(oslo(2026, 11, 30, 14, 0)),
            ..plan(Phase::BeforeJobStart, oslo(2026, 11, 1, 9, 0))
        };
        assert_eq!(
            due_at(&p, &jobs, Oslo, now, false),
            Some(oslo(2026, 12, 5, 0, 0))
        );
        // Reached eight days before the start: outside the week before, so still due by the start
        // (the rhythm, 30 November 9:00, comes first).
        let early = Plan {
            last_contact_at: Some(oslo(2026, 11, 23, 9, 0)),
            ..p
        };
        assert_eq!(
            fidelity_deadline(&early, &jobs, Oslo, now),
            Some(oslo(2026, 12, 1, 0, 0))
        );
        // Recorded only after the job began: the contact before it is gone; due within 3 days after.
        let late = Plan {
            last_contact_at: Some(oslo(2026, 11, 10, 9, 0)),
            ..plan(Phase::NewJob, oslo(2026, 11, 1, 9, 0))
        };
        assert_eq!(
            fidelity_deadline(&late, &jobs, Oslo, oslo(2026, 12, 2, 9, 0)),
            Some(oslo(2026, 12, 5, 0, 0))
        );
        // Reached after the start: weekly in the first month, no more deadline.
        let reached = Plan {
            last_contact_at: Some(oslo(2026, 12, 3, 11, 0)),
            ..late
        };
        assert_eq!(
            fidelity_deadline(&reached, &jobs, Oslo, oslo(2026, 12, 3, 12, 0)),
            None
        );
        assert_eq!(
            due_at(&reached, &jobs, Oslo, oslo(2026, 12, 3, 12, 0), false),
            Some(oslo(2026, 12, 10, 11, 0))
        );
    }

    #[test]
    fn the_first_month_ends_on_the_same_day_next_month_or_the_month_end() {
        assert_eq!(first_month_ends(date(2026, 12, 1)), date(2027, 1, 1));
        assert_eq!(first_month_ends(date(2027, 1, 31)), date(2027, 2, 28));
        assert_eq!(first_month_ends(date(2028, 1, 31)), date(2028, 2, 29));
        assert_eq!(first_month_ends(date(2026, 12, 31)), date(2027, 1, 31));
        let start = date(2027, 1, 31);
        assert_eq!(
            job_phase(start, Oslo, oslo(2027, 1, 30, 23, 59)),
            Phase::BeforeJobStart
        );
        assert_eq!(
            job_phase(start, Oslo, oslo(2027, 1, 31, 0, 0)),
            Phase::NewJob
        );
        assert_eq!(
            job_phase(start, Oslo, oslo(2027, 2, 27, 23, 59)),
            Phase::NewJob
        );
        assert_eq!(
            job_phase(start, Oslo, oslo(2027, 2, 28, 0, 0)),
            Phase::EstablishedJob
        );
        // The day is the participant's: 23:30 UTC on 27 February is already the 28th in Oslo.
        assert_eq!(
            job_phase(start, Oslo, utc(2027, 2, 27, 23, 30)),
            Phase::EstablishedJob
        );
        assert_eq!(
            job_phase(start, New_York, utc(2027, 2, 28, 3, 0)),
            Phase::NewJob
        );
    }

    #[test]
    fn phases_move_forward_with_time_never_back() {
        let jobs = JobDates {
            current_start: Some(date(2026, 12, 1)),
            last_end: None,
        };
        let p = plan(Phase::BeforeJobStart, oslo(2026, 11, 20, 9, 0));
        assert_eq!(advance(&p, &jobs, Oslo, oslo(2026, 11, 30, 23, 0)), None);
        assert_eq!(
            advance(&p, &jobs, Oslo, oslo(2026, 12, 1, 8, 0)),
            Some(Phase::NewJob)
        );
        assert_eq!(
            advance(&p, &jobs, Oslo, oslo(2027, 1, 1, 8, 0)),
            Some(Phase::EstablishedJob)
        );
        let new_job = plan(Phase::NewJob, oslo(2026, 11, 20, 9, 0));
        assert_eq!(
            advance(&new_job, &jobs, Oslo, oslo(2026, 11, 25, 8, 0)),
            None,
            "a start moved later does not send a running plan back"
        );
        assert_eq!(
            advance(
                &plan(Phase::Education, oslo(2026, 11, 20, 9, 0)),
                &jobs,
                Oslo,
                oslo(2027, 6, 1, 8, 0)
            ),
            None
        );
    }

    #[test]
    fn a_job_loss_is_due_within_three_days_then_job_search() {
        // The last working day is Friday 27 March 2026; Oslo changes to summer time on Sunday.
        let jobs = JobDates {
            current_start: None,
            last_end: Some(date(2026, 3, 27)),
        };
        let now = oslo(2026, 3, 27, 16, 0);
        let p = Plan {
            last_contact_at: Some(oslo(2026, 3, 20, 10, 0)),
            ..plan(Phase::AfterJobLoss, oslo(2026, 1, 5, 9, 0))
        };
        // The rhythm (27 March 10:00) is earlier than the deadline and wins.
        assert_eq!(
            due_at(&p, &jobs, Oslo, now, false),
            Some(oslo(2026, 3, 27, 10, 0))
        );
        let recent = Plan {
            last_contact_at: Some(oslo(2026, 3, 26, 10, 0)),
            ..p
        };
        // End of Monday 30 March, CEST: 22:00 UTC.
        assert_eq!(
            due_at(&recent, &jobs, Oslo, now, false),
            Some(utc(2026, 3, 30, 22, 0))
        );
        assert_eq!(advance(&recent, &jobs, Oslo, now), None);
        let reached = Plan {
            last_contact_at: Some(oslo(2026, 3, 28, 11, 0)),
            ..p
        };
        assert_eq!(advance(&reached, &jobs, Oslo, now), Some(Phase::JobSearch));
        assert_eq!(fidelity_deadline(&reached, &jobs, Oslo, now), None);
    }

    #[test]
    fn status_changes_set_the_phase() {
        let now = oslo(2026, 12, 10, 9, 0);
        let jobs = JobDates {
            current_start: Some(date(2026, 12, 1)),
            last_end: None,
        };
        use ParticipantStatus::*;
        assert_eq!(
            phase_for_status(JobSeeking, Phase::NewJob, &jobs, Oslo, now),
            Phase::JobSearch
        );
        assert_eq!(
            phase_for_status(InEducation, Phase::JobSearch, &jobs, Oslo, now),
            Phase::Education
        );
        assert_eq!(
            phase_for_status(InWork, Phase::EstablishedJob, &jobs, Oslo, now),
            Phase::EstablishedJob
        );
        assert_eq!(
            phase_for_status(InWork, Phase::JobSearch, &jobs, Oslo, now),
            Phase::NewJob
        );
        assert_eq!(
            phase_for_status(InWork, Phase::JobSearch, &no_jobs(), Oslo, now),
            Phase::NewJob
        );
        assert_eq!(
            phase_for_status(Paused, Phase::Education, &jobs, Oslo, now),
            Phase::Education
        );
        assert_eq!(
            phase_for_status(Closed, Phase::NewJob, &jobs, Oslo, now),
            Phase::NewJob
        );
    }

    #[test]
    fn an_agreement_survives_only_before_the_deadline() {
        let deadline = Some(utc(2026, 12, 4, 23, 0));
        let early = Some(utc(2026, 12, 2, 9, 0));
        let late = Some(utc(2026, 12, 8, 9, 0));
        assert_eq!(keep_agreement(early, deadline), early);
        assert_eq!(keep_agreement(late, deadline), None);
        assert_eq!(keep_agreement(late, None), late);
        assert_eq!(keep_agreement(None, deadline), None);
    }

    #[test]
    fn local_days_are_the_participants() {
        let instant = utc(2026, 11, 23, 3, 0);
        assert_eq!(local_date(instant, Oslo), date(2026, 11, 23));
        assert_eq!(local_date(instant, New_York), date(2026, 11, 22));
        assert_eq!(
            end_of_day(date(2026, 11, 22), New_York),
            utc(2026, 11, 23, 5, 0)
        );
    }
}
