//! A team's report for a period: outcomes and the fidelity items the product's own data can show.
//! Every figure is defined in `docs/reports.md`; this module is that page in code, with no
//! database: `store::reports` loads the facts ([`ReportFacts`]) in a few team-wide queries and
//! [`compute`] turns them into figures.
//!
//! Conventions: a period is a range of whole local days in one time zone; a timestamp is in it when
//! it falls between the local midnight that begins the first day and the one that ends the last;
//! "days between" two moments are calendar days between their local dates; a figure with nothing
//! to rest on is `None` (null), never 0.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

/// The longest period a report covers: a (leap) year. Programmes report quarterly and yearly.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// Why a case was closed (the CHECK of `status_changes.closed_reason`), in the report's order.
pub const CLOSED_REASONS: [&str; 6] = [
    "work",
    "education",
    "withdrew",
    "moved",
    "lost_contact",
    "other",
];

/// "Young": under this age (in the year the period ends). Over half of Norway's IPS participants are.
pub const YOUNG_BELOW_AGE: i32 = 30;

/// Days after a job's start on which 90-day retention is judged.
pub const RETENTION_DAYS: i64 = 90;

/// Fidelity item 23's windows, in days: a contact in the week before a job starts, within 3 days
/// after it starts, and within 3 days after it ends.
pub const BEFORE_START_DAYS: i64 = 7;
pub const AFTER_START_DAYS: i64 = 3;
pub const AFTER_LOSS_DAYS: i64 = 3;

/// A report's period: whole days `from..=to` in `zone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub zone: Tz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodError {
    ToBeforeFrom,
    TooLong,
}

impl PeriodError {
    pub fn message(self) -> &'static str {
        match self {
            PeriodError::ToBeforeFrom => "must not be before from",
            PeriodError::TooLong => "the period may be at most 366 days",
        }
    }
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate, zone: Tz) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::ToBeforeFrom);
        }
        let period = Period { from, to, zone };
        if period.days() > MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(period)
    }

    /// How many days the period has (`from` and `to` included).
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The instant (naive UTC) at which `date` begins in the period's zone. Where a zone skips
    /// midnight (a daylight-saving change at 00:00), the day begins at its first existing minute.
    pub fn midnight(&self, date: NaiveDate) -> NaiveDateTime {
        let mut local = date.and_time(chrono::NaiveTime::MIN);
        // A gap is at most a few hours; step until the local time exists.
        for _ in 0..(4 * 60) {
            if let Some(at) = self.zone.from_local_datetime(&local).earliest() {
                return at.naive_utc();
            }
            local += Duration::minutes(1);
        }
        date.and_time(chrono::NaiveTime::MIN)
    }

    /// The first instant of the period.
    pub fn start(&self) -> NaiveDateTime {
        self.midnight(self.from)
    }

    /// The first instant after the period.
    pub fn end(&self) -> NaiveDateTime {
        self.midnight(self.to + Duration::days(1))
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: NaiveDateTime) -> NaiveDate {
        self.zone.from_utc_datetime(&at).date_naive()
    }

    pub fn contains(&self, at: NaiveDateTime) -> bool {
        self.start() <= at && at < self.end()
    }

    pub fn contains_date(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// A participant of the team enrolled before the period's end.
#[derive(Debug, Clone)]
pub struct ParticipantFacts {
    pub id: i64,
    pub enrolled_at: NaiveDateTime,
    pub birth_year: Option<i32>,
    pub withdrawn_at: Option<NaiveDateTime>,
}

/// One row of a participant's status history (`status_changes`).
#[derive(Debug, Clone)]
pub struct StatusFact {
    pub id: i64,
    pub participant_id: i64,
    pub changed_at: NaiveDateTime,
    pub to_status: String,
    pub closed_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct JobFact {
    pub participant_id: i64,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub competitive: bool,
}

/// What the report is computed from; `store::reports::facts` says how each list is selected.
#[derive(Debug, Clone, Default)]
pub struct ReportFacts {
    pub now: NaiveDateTime,
    /// Active specialists of the team, as the staff list is now.
    pub active_specialists: i64,
    /// The team's participants enrolled before the period's end.
    pub participants: Vec<ParticipantFacts>,
    /// Their status changes before the period's end.
    pub history: Vec<StatusFact>,
    /// Per participant, the earliest employer contact about them that reached the employer.
    pub first_employer_contacts: Vec<(i64, NaiveDateTime)>,
    /// The same, face to face only (channel `meeting`).
    pub first_employer_meetings: Vec<(i64, NaiveDateTime)>,
    /// Per participant, the start of their first competitive job.
    pub first_competitive_jobs: Vec<(i64, NaiveDate)>,
    /// Jobs starting from 90 days before the period to a day after it, or ending from 3 days
    /// before it to its end: every job a figure of this period can look at.
    pub jobs: Vec<JobFact>,
    /// Contacts that reached a participant, from a week before the period to its end.
    pub participant_contacts: Vec<(i64, NaiveDateTime)>,
    /// Per participant, when a benefits-counselling request of theirs was first handled.
    pub first_benefits_counselling: Vec<(i64, NaiveDateTime)>,
    /// Face-to-face employer contacts of the team's staff in the period (to now, if it runs on).
    pub employer_meetings: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantFigures {
    pub active: i64,
    pub new_enrolments: i64,
    pub under_30: i64,
    pub birth_year_known: i64,
    pub birth_year_unknown: i64,
    pub share_under_30: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedFigures {
    pub total: i64,
    /// Every reason, zeros included, in [`CLOSED_REASONS`] order.
    pub by_reason: Vec<(String, i64)>,
    pub share_work_or_education: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSearchFigures {
    pub first_employer_contacts: i64,
    pub median_days_to_first_employer_contact: Option<f64>,
    pub first_jobs: i64,
    pub median_days_to_first_job: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionFigures {
    pub measurable: i64,
    pub retained: i64,
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobFigures {
    pub started: i64,
    pub started_competitive: i64,
    pub ended_competitive: i64,
    pub median_tenure_days: Option<f64>,
    pub retention_90_days: RetentionFigures,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">=")]
    AtLeast,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::AtMost => "<=",
            Comparison::AtLeast => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Target {
    pub comparison: Comparison,
    pub value: f64,
}

impl Target {
    fn met_by(self, value: f64) -> bool {
        match self.comparison {
            Comparison::AtMost => value <= self.value,
            Comparison::AtLeast => value >= self.value,
        }
    }
}

/// One item of the IPS-25 fidelity scale, as far as the data shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FidelityItem {
    pub item: u8,
    pub key: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub value: Option<f64>,
    pub target: Target,
    /// Whether the value meets the target; `None` when there is no value.
    pub meets: Option<bool>,
    /// How many cases, events or windows the value rests on (see docs/reports.md per item).
    pub counted: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The last day the figures could see: the period's last day, or today if the period runs on.
    pub measured_to: NaiveDate,
    pub participants: ParticipantFigures,
    pub closed_cases: ClosedFigures,
    pub job_search: JobSearchFigures,
    pub jobs: JobFigures,
    pub fidelity: Vec<FidelityItem>,
}

/// The median of whole numbers: the middle one, or the mean of the two middle ones.
pub fn median(mut values: Vec<i64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    let middle = n / 2;
    Some(if n % 2 == 1 {
        values[middle] as f64
    } else {
        (values[middle - 1] + values[middle]) as f64 / 2.0
    })
}

/// A share in 0..=1, to four decimals; `None` out of nothing.
pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, 4))
}

fn mean(values: &[i64]) -> Option<f64> {
    (!values.is_empty()).then(|| round(values.iter().sum::<i64>() as f64 / values.len() as f64, 2))
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    // A date recorded before the enrolment is a slip of the keyboard, not negative days.
    (to - from).num_days().max(0)
}

/// A participant's status history, oldest first.
struct History<'a> {
    changes: Vec<&'a StatusFact>,
}

impl History<'_> {
    /// The status set by the last change before `at`, if any.
    fn status_before(&self, at: NaiveDateTime) -> Option<&str> {
        self.changes
            .iter()
            .rev()
            .find(|c| c.changed_at < at)
            .map(|c| c.to_status.as_str())
    }

    fn active_before(&self, at: NaiveDateTime) -> bool {
        self.status_before(at).is_some_and(|s| s != "closed")
    }
}

pub fn compute(period: &Period, facts: &ReportFacts) -> Report {
    let start = period.start();
    let end = period.end();
    let today = period.local_date(facts.now);
    let measured_to = period.to.min(today);
    let as_of = end.min(facts.now);

    // Cases without a recorded history (none since migration 000009 writes one) are read as this
    // version enrols and withdraws them: job seeking from enrolment, closed at a withdrawal.
    let mut synthetic = Vec::new();
    let mut histories: HashMap<i64, History> = HashMap::new();
    for change in &facts.history {
        histories
            .entry(change.participant_id)
            .or_insert_with(|| History {
                changes: Vec::new(),
            })
            .changes
            .push(change);
    }
    for p in &facts.participants {
        if histories.contains_key(&p.id) {
            continue;
        }
        synthetic.push(StatusFact {
            id: 0,
            participant_id: p.id,
            changed_at: p.enrolled_at,
            to_status: "job_seeking".into(),
            closed_reason: None,
        });
        if let Some(at) = p.withdrawn_at {
            synthetic.push(StatusFact {
                id: 0,
                participant_id: p.id,
                changed_at: at,
                to_status: "closed".into(),
                closed_reason: Some("withdrew".into()),
            });
        }
    }
    for change in &synthetic {
        histories
            .entry(change.participant_id)
            .or_insert_with(|| History {
                changes: Vec::new(),
            })
            .changes
            .push(change);
    }
    for history in histories.values_mut() {
        history.changes.sort_by_key(|c| (c.changed_at, c.id));
    }

    let enrolled: HashMap<i64, &ParticipantFacts> =
        facts.participants.iter().map(|p| (p.id, p)).collect();

    // Participants.
    let mut active = 0;
    let mut active_at_end = 0;
    let (mut young, mut known, mut unknown) = (0, 0, 0);
    let mut closures: Vec<&str> = Vec::new();
    for p in &facts.participants {
        let Some(history) = histories.get(&p.id) else {
            continue;
        };
        let in_period = history
            .changes
            .iter()
            .filter(|c| start <= c.changed_at && c.changed_at < end);
        let mut reopened = false;
        let mut last_closure = None;
        for change in in_period {
            if change.to_status == "closed" {
                last_closure = Some(change.closed_reason.as_deref().unwrap_or("other"));
            } else {
                reopened = true;
            }
        }
        if let Some(reason) = last_closure {
            closures.push(reason);
        }
        if history.active_before(as_of) {
            active_at_end += 1;
        }
        if history.active_before(start) || reopened {
            active += 1;
            match p.birth_year {
                Some(year) => {
                    known += 1;
                    if period.to.year() - year < YOUNG_BELOW_AGE {
                        young += 1;
                    }
                }
                None => unknown += 1,
            }
        }
    }
    let new_enrolments = facts
        .participants
        .iter()
        .filter(|p| period.contains(p.enrolled_at))
        .count() as i64;

    // Closed cases.
    let by_reason: Vec<(String, i64)> = CLOSED_REASONS
        .iter()
        .map(|reason| {
            let n = closures.iter().filter(|r| *r == reason).count() as i64;
            ((*reason).to_owned(), n)
        })
        .collect();
    let total_closed = closures.len() as i64;
    let work_or_education = closures
        .iter()
        .filter(|r| **r == "work" || **r == "education")
        .count() as i64;

    // Job search: days from enrolment to the first employer contact, the first competitive job.
    let days_to = |firsts: &[(i64, NaiveDateTime)]| -> Vec<i64> {
        firsts
            .iter()
            .filter(|(_, at)| period.contains(*at))
            .filter_map(|(id, at)| {
                let p = enrolled.get(id)?;
                Some(days_between(
                    period.local_date(p.enrolled_at),
                    period.local_date(*at),
                ))
            })
            .collect()
    };
    let to_employer_contact = days_to(&facts.first_employer_contacts);
    let to_employer_meeting = days_to(&facts.first_employer_meetings);
    let to_first_job: Vec<i64> = facts
        .first_competitive_jobs
        .iter()
        .filter(|(_, date)| period.contains_date(*date))
        .filter_map(|(id, date)| {
            let p = enrolled.get(id)?;
            Some(days_between(period.local_date(p.enrolled_at), *date))
        })
        .collect();

    // Jobs.
    let started: Vec<&JobFact> = facts
        .jobs
        .iter()
        .filter(|j| period.contains_date(j.start_date))
        .collect();
    let tenures: Vec<i64> = facts
        .jobs
        .iter()
        .filter(|j| j.competitive)
        .filter_map(|j| {
            let end = j.end_date.filter(|d| period.contains_date(*d))?;
            Some(days_between(j.start_date, end))
        })
        .collect();
    let retention_window = |j: &&JobFact| {
        let day = j.start_date + Duration::days(RETENTION_DAYS);
        j.competitive && period.from <= day && day <= measured_to
    };
    let measurable: Vec<&JobFact> = facts.jobs.iter().filter(retention_window).collect();
    let retained = measurable
        .iter()
        .filter(|j| {
            j.end_date
                .is_none_or(|end| end >= j.start_date + Duration::days(RETENTION_DAYS))
        })
        .count() as i64;

    // Fidelity.
    let specialists = facts.active_specialists;
    let caseload = (specialists > 0).then(|| round(active_at_end as f64 / specialists as f64, 2));

    let first_counselling: HashMap<i64, NaiveDate> = facts
        .first_benefits_counselling
        .iter()
        .map(|(id, at)| (*id, period.local_date(*at)))
        .collect();
    let counselled_before_start = started
        .iter()
        .filter(|j| {
            first_counselling
                .get(&j.participant_id)
                .is_some_and(|d| *d <= j.start_date)
        })
        .count() as i64;

    let elapsed_days = (measured_to - period.from).num_days() + 1;
    let employer_contacts_per_week = (specialists > 0 && elapsed_days > 0).then(|| {
        round(
            facts.employer_meetings as f64 / specialists as f64 / (elapsed_days as f64 / 7.0),
            2,
        )
    });

    let (windows_due, windows_met) = follow_along_windows(period, facts, today);

    let item = |item: u8,
                key: &'static str,
                title: &'static str,
                unit: &'static str,
                value: Option<f64>,
                target: Target,
                counted: i64| FidelityItem {
        item,
        key,
        title,
        unit,
        value,
        target,
        meets: value.map(|v| target.met_by(v)),
        counted,
    };
    let all = Target {
        comparison: Comparison::AtLeast,
        value: 1.0,
    };
    let fidelity = vec![
        item(
            1,
            "caseload_size",
            "Caseload size",
            "active participants per specialist",
            caseload,
            Target {
                comparison: Comparison::AtMost,
                value: crate::domain::caseload::CASELOAD_TARGET as f64,
            },
            active_at_end,
        ),
        item(
            12,
            "benefits_counselling",
            "Work incentives (benefits) planning before a job start",
            "share of job starts",
            share(counselled_before_start, started.len() as i64),
            all,
            started.len() as i64,
        ),
        item(
            15,
            "rapid_job_search",
            "Rapid job search: first face-to-face employer contact",
            "mean days from enrolment",
            mean(&to_employer_meeting),
            Target {
                comparison: Comparison::AtMost,
                value: 30.0,
            },
            to_employer_meeting.len() as i64,
        ),
        item(
            17,
            "employer_contacts",
            "Face-to-face employer contacts",
            "per specialist per week",
            employer_contacts_per_week,
            Target {
                comparison: Comparison::AtLeast,
                value: 6.0,
            },
            facts.employer_meetings,
        ),
        item(
            23,
            "follow_along",
            "Time-unlimited follow-along: contact windows around job starts and ends met",
            "share of windows",
            share(windows_met, windows_due),
            all,
            windows_due,
        ),
    ];

    Report {
        measured_to,
        participants: ParticipantFigures {
            active,
            new_enrolments,
            under_30: young,
            birth_year_known: known,
            birth_year_unknown: unknown,
            share_under_30: share(young, known),
        },
        closed_cases: ClosedFigures {
            total: total_closed,
            by_reason,
            share_work_or_education: share(work_or_education, total_closed),
        },
        job_search: JobSearchFigures {
            first_employer_contacts: to_employer_contact.len() as i64,
            median_days_to_first_employer_contact: median(to_employer_contact),
            first_jobs: to_first_job.len() as i64,
            median_days_to_first_job: median(to_first_job),
        },
        jobs: JobFigures {
            started: started.len() as i64,
            started_competitive: started.iter().filter(|j| j.competitive).count() as i64,
            ended_competitive: tenures.len() as i64,
            median_tenure_days: median(tenures),
            retention_90_days: RetentionFigures {
                measurable: measurable.len() as i64,
                retained,
                share: share(retained, measurable.len() as i64),
            },
        },
        fidelity,
    }
}

/// Fidelity item 23: the contact windows around job starts and ends whose last day is in the
/// period and already past, and how many of them had a contact that reached the participant.
fn follow_along_windows(period: &Period, facts: &ReportFacts, today: NaiveDate) -> (i64, i64) {
    let mut contacts: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
    for (id, at) in &facts.participant_contacts {
        contacts
            .entry(*id)
            .or_default()
            .push(period.local_date(*at));
    }
    let mut windows: Vec<(i64, NaiveDate, NaiveDate)> = Vec::new();
    for job in &facts.jobs {
        let s = job.start_date;
        windows.push((
            job.participant_id,
            s - Duration::days(BEFORE_START_DAYS),
            s - Duration::days(1),
        ));
        windows.push((job.participant_id, s, s + Duration::days(AFTER_START_DAYS)));
        if let Some(e) = job.end_date {
            windows.push((job.participant_id, e, e + Duration::days(AFTER_LOSS_DAYS)));
        }
    }
    let (mut due, mut met) = (0, 0);
    for (participant, first, last) in windows {
        if !period.contains_date(last) || last >= today {
            continue;
        }
        due += 1;
        let reached = contacts
            .get(&participant)
            .is_some_and(|days| days.iter().any(|d| first <= *d && *d <= last));
        if reached {
            met += 1;
        }
    }
    (due, met)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Oslo;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5]), Some(5.0));
        assert_eq!(median(vec![9, 1, 5]), Some(5.0));
        assert_eq!(median(vec![10, 1, 4, 7]), Some(5.5));
        assert_eq!(share(2, 3), Some(0.6667));
        assert_eq!(share(0, 0), None);
        assert_eq!(mean(&[1, 2]), Some(1.5));
    }

    #[test]
    fn periods_are_local_days_and_bounded() {
        let p = Period::new(date(2025, 1, 1), date(2025, 3, 31), Oslo).expect("a period");
        assert_eq!(p.days(), 90);
        // Oslo is UTC+1 in January and UTC+2 from the last Sunday of March.
        assert_eq!(
            p.start(),
            date(2024, 12, 31).and_hms_opt(23, 0, 0).unwrap_or_default()
        );
        assert_eq!(
            p.end(),
            date(2025, 3, 31).and_hms_opt(22, 0, 0).unwrap_or_default()
        );
        assert!(p.contains(
            date(2024, 12, 31)
                .and_hms_opt(23, 30, 0)
                .unwrap_or_default()
        ));
        assert!(!p.contains(date(2025, 3, 31).and_hms_opt(22, 30, 0).unwrap_or_default()));
        assert_eq!(
            Period::new(date(2025, 2, 1), date(2025, 1, 31), Oslo),
            Err(PeriodError::ToBeforeFrom)
        );
        assert!(Period::new(date(2024, 1, 1), date(2024, 12, 31), Oslo).is_ok());
        assert_eq!(
            Period::new(date(2024, 1, 1), date(2025, 1, 1), Oslo),
            Err(PeriodError::TooLong)
        );
    }

    #[test]
    fn no_data_is_null_not_zero() {
        let p = Period::new(date(2025, 1, 1), date(2025, 1, 31), Oslo).expect("a period");
        let facts = ReportFacts {
            now: date(2025, 6, 1).and_hms_opt(12, 0, 0).unwrap_or_default(),
            ..ReportFacts::default()
        };
        let report = compute(&p, &facts);
        assert_eq!(report.participants.active, 0);
        assert_eq!(report.participants.share_under_30, None);
        assert_eq!(report.closed_cases.share_work_or_education, None);
        assert_eq!(report.job_search.median_days_to_first_job, None);
        assert_eq!(report.jobs.retention_90_days.share, None);
        assert!(report
            .fidelity
            .iter()
            .all(|i| i.value.is_none() && i.meets.is_none()));
    }
}
