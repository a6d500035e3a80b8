//! A participant's case status and the only steps it may take (docs/follow-up.md, "Case status").
//!
//! ```text
//! from \ to     job_seeking  in_work  in_education  paused  closed
//! referred      yes                                         yes
//! job_seeking                yes      yes           yes     yes
//! in_work       yes                   yes           yes     yes
//! in_education  yes          yes                    yes     yes
//! paused        yes          yes      yes                   yes
//! closed        yes (a reopening, never after a withdrawal)
//! ```
//! Closing needs a reason; `withdrew` is the participant's own step (`POST /v1/me/withdraw`), never
//! staff's; `lost_contact` needs logged outreach first (fidelity item 25, assertive engagement).
//! Pausing needs a reason and a resume date. A step the table does not allow is refused with the
//! reason (409); a step missing what it needs is refused naming the field (422).

use chrono::{Duration, NaiveDate};

use super::{ClosedReason, ParticipantStatus};

/// The furthest ahead a pause may end: a pause is a break, not a way to close a case quietly.
pub const LONGEST_PAUSE_DAYS: i64 = 366;

/// A requested step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub to: ParticipantStatus,
    pub closed_reason: Option<ClosedReason>,
    /// Whether a note (for a pause, its reason) was given.
    pub has_note: bool,
    /// The local date a pause ends.
    pub resume_on: Option<NaiveDate>,
}

impl Step {
    pub fn to(to: ParticipantStatus) -> Self {
        Step {
            to,
            closed_reason: None,
            has_note: false,
            resume_on: None,
        }
    }
}

/// What the rules need to know of the case beyond its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub status: ParticipantStatus,
    pub closed_reason: Option<ClosedReason>,
    /// Outreach attempts that did not reach the participant since the last contact that did.
    pub outreach_attempts: i64,
    /// The participant's local date now (a resume date must lie after it).
    pub today: NaiveDate,
}

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The case cannot take this step from where it is (the API's 409), with the reason.
    Conflict(String),
    /// The step lacks something it needs, or has something it must not (the API's 422).
    Invalid {
        field: &'static str,
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        field,
        message: message.into(),
    }
}

/// The table: whether `from` may step to `to` at all.
pub fn allowed(from: ParticipantStatus, to: ParticipantStatus) -> bool {
    use ParticipantStatus::*;
    matches!(
        (from, to),
        (Referred, JobSeeking | Closed)
            | (JobSeeking, InWork | InEducation | Paused | Closed)
            | (InWork, JobSeeking | InEducation | Paused | Closed)
            | (InEducation, JobSeeking | InWork | Paused | Closed)
            | (Paused, JobSeeking | InWork | InEducation | Closed)
            | (Closed, JobSeeking)
    )
}

/// Where a case may go from `from`, in the table's order.
pub fn next_steps(from: ParticipantStatus) -> Vec<ParticipantStatus> {
    ParticipantStatus::ALL
        .iter()
        .copied()
        .filter(|to| allowed(from, *to))
        .collect()
}

/// The reasons staff may close a case with: every reason but the participant's own withdrawal.
pub fn staff_may_close_with(reason: ClosedReason) -> bool {
    reason != ClosedReason::Withdrew
}

/// Checks a step asked for by staff. `outreach_required` is the configured number of unreached
/// attempts a `lost_contact` closure needs.
pub fn check_staff_step(case: &Case, step: &Step, outreach_required: i64) -> Result<(), Refusal> {
    check_shape(case, step)?;
    if case.status == step.to {
        return Err(Refusal::Conflict(format!(
            "the case is already {}",
            step.to
        )));
    }
    if case.status == ParticipantStatus::Closed
        && case.closed_reason == Some(ClosedReason::Withdrew)
    {
        return Err(Refusal::Conflict(
            "the participant withdrew; only they can come back, by being enrolled again".into(),
        ));
    }
    if !allowed(case.status, step.to) {
        return Err(Refusal::Conflict(refusal_text(case.status, step.to)));
    }
    if step.closed_reason == Some(ClosedReason::LostContact)
        && case.outreach_attempts < outreach_required
    {
        return Err(Refusal::Conflict(format!(
            "a case is closed for lost contact only after {outreach_required} logged outreach attempts \
             (contacts with reached = false) since the participant was last reached; {} so far",
            case.outreach_attempts
        )));
    }
    Ok(())
}

/// The fields a step needs and must not have, whatever the case's status.
fn check_shape(case: &Case, step: &Step) -> Result<(), Refusal> {
    match (step.to, step.closed_reason) {
        (ParticipantStatus::Closed, None) => {
            return Err(invalid(
                "closed_reason",
                "is required when closing: work, education, moved, lost_contact or other",
            ))
        }
        (ParticipantStatus::Closed, Some(reason)) if !staff_may_close_with(reason) => {
            return Err(invalid(
                "closed_reason",
                "withdrew is the participant's own step (POST /v1/me/withdraw)",
            ))
        }
        (ParticipantStatus::Closed, Some(_)) | (_, None) => {}
        (_, Some(_)) => return Err(invalid("closed_reason", "is only given when closing")),
    }
    match (step.to, step.resume_on) {
        (ParticipantStatus::Paused, None) => {
            return Err(invalid("resume_on", "is required when pausing"))
        }
        (ParticipantStatus::Paused, Some(date)) => {
            if date <= case.today {
                return Err(invalid(
                    "resume_on",
                    "must be after today in the participant's time zone",
                ));
            }
            if date > case.today + Duration::days(LONGEST_PAUSE_DAYS) {
                return Err(invalid(
                    "resume_on",
                    format!("must be at most {LONGEST_PAUSE_DAYS} days ahead"),
                ));
            }
        }
        (_, None) => {}
        (_, Some(_)) => return Err(invalid("resume_on", "is only given when pausing")),
    }
    if step.to == ParticipantStatus::Paused && !step.has_note {
        return Err(invalid("note", "is required when pausing: the reason"));
    }
    Ok(())
}

fn refusal_text(from: ParticipantStatus, to: ParticipantStatus) -> String {
    if to == ParticipantStatus::Referred {
        return "no case returns to referred".into();
    }
    let next: Vec<&str> = next_steps(from).iter().map(|s| s.as_str()).collect();
    format!(
        "a case that is {from} cannot move to {to}; it can move to {}",
        next.join(", ")
    )
}

/// The status a recorded job start moves the case to, if any: `referred`, `job_seeking` and
/// `paused` become `in_work`; `in_work` stays; `in_education` stays (studying while working).
/// From `referred` this is a step the table does not give staff by hand: the job itself is the
/// evidence, so the doc lets a recorded job take a referred case straight into work.
pub fn after_job_start(from: ParticipantStatus) -> Option<ParticipantStatus> {
    use ParticipantStatus::*;
    match from {
        Referred | JobSeeking | Paused => Some(InWork),
        InWork | InEducation | Closed => None,
    }
}

/// The status the end of the participant's last current job moves the case to, if any.
pub fn after_last_job_end(from: ParticipantStatus) -> Option<ParticipantStatus> {
    match from {
        ParticipantStatus::InWork => Some(ParticipantStatus::JobSeeking),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParticipantStatus::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn case(status: ParticipantStatus) -> Case {
        Case {
            status,
            closed_reason: (status == Closed).then_some(ClosedReason::Moved),
            outreach_attempts: 0,
            today: day(2026, 11, 23),
        }
    }

    /// A step to `to` with whatever it needs (a reason to close, a note and date to pause).
    fn complete(to: ParticipantStatus) -> Step {
        Step {
            to,
            closed_reason: (to == Closed).then_some(ClosedReason::Work),
            has_note: to == Paused,
            resume_on: (to == Paused).then(|| day(2026, 12, 7)),
        }
    }

    /// The doc's table, written out cell by cell: (from, to) pairs that are allowed.
    const TABLE: &[(ParticipantStatus, ParticipantStatus)] = &[
        (Referred, JobSeeking),
        (Referred, Closed),
        (JobSeeking, InWork),
        (JobSeeking, InEducation),
        (JobSeeking, Paused),
        (JobSeeking, Closed),
        (InWork, JobSeeking),
        (InWork, InEducation),
        (InWork, Paused),
        (InWork, Closed),
        (InEducation, JobSeeking),
        (InEducation, InWork),
        (InEducation, Paused),
        (InEducation, Closed),
        (Paused, JobSeeking),
        (Paused, InWork),
        (Paused, InEducation),
        (Paused, Closed),
        (Closed, JobSeeking),
    ];

    #[test]
    fn every_cell_of_the_table() {
        for from in ParticipantStatus::ALL {
            for to in ParticipantStatus::ALL {
                let expected = TABLE.contains(&(*from, *to));
                assert_eq!(allowed(*from, *to), expected, "{from} -> {to}");
                let result = check_staff_step(&case(*from), &complete(*to), 3);
                if expected {
                    assert_eq!(result, Ok(()), "{from} -> {to}");
                } else {
                    match result {
                        Err(Refusal::Conflict(why)) => {
                            assert!(!why.is_empty(), "{from} -> {to} names its reason")
                        }
                        other => panic!("{from} -> {to}: expected a conflict, got {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn refusals_name_the_reason() {
        let Err(Refusal::Conflict(why)) = check_staff_step(&case(Referred), &complete(InWork), 3)
        else {
            panic!("referred -> in_work is refused");
        };
        assert_eq!(
            why,
            "a case that is referred cannot move to in_work; it can move to job_seeking, closed"
        );
        assert_eq!(
            check_staff_step(&case(JobSeeking), &complete(JobSeeking), 3),
            Err(Refusal::Conflict("the case is already job_seeking".into()))
        );
        assert_eq!(
            check_staff_step(&case(Paused), &complete(Referred), 3),
            Err(Refusal::Conflict("no case returns to referred".into()))
        );
    }

    #[test]
    fn closing_needs_a_reason_and_never_withdrew_from_staff() {
        let mut step = complete(Closed);
        step.closed_reason = None;
        assert!(matches!(
            check_staff_step(&case(JobSeeking), &step, 3),
            Err(Refusal::Invalid {
                field: "closed_reason",
                ..
            })
        ));
        step.closed_reason = Some(ClosedReason::Withdrew);
        assert!(matches!(
            check_staff_step(&case(JobSeeking), &step, 3),
            Err(Refusal::Invalid {
                field: "closed_reason",
                ..
            })
        ));
        for reason in [
            ClosedReason::Work,
            ClosedReason::Education,
            ClosedReason::Moved,
            ClosedReason::Other,
        ] {
            step.closed_reason = Some(reason);
            assert_eq!(
                check_staff_step(&case(InWork), &step, 3),
                Ok(()),
                "{reason}"
            );
        }
        let mut reason_on_other_step = complete(Paused);
        reason_on_other_step.closed_reason = Some(ClosedReason::Work);
        assert!(matches!(
            check_staff_step(&case(JobSeeking), &reason_on_other_step, 3),
            Err(Refusal::Invalid {
                field: "closed_reason",
                ..
            })
        ));
    }

    #[test]
    fn lost_contact_needs_outreach_first() {
        let step = Step {
            closed_reason: Some(ClosedReason::LostContact),
            ..complete(Closed)
        };
        let mut c = case(JobSeeking);
        for attempts in 0..3 {
            c.outreach_attempts = attempts;
            let Err(Refusal::Conflict(why)) = check_staff_step(&c, &step, 3) else {
                panic!("{attempts} attempts are not enough");
            };
            assert!(why.contains(&format!("{attempts} so far")), "{why}");
        }
        c.outreach_attempts = 3;
        assert_eq!(check_staff_step(&c, &step, 3), Ok(()));
        c.outreach_attempts = 1;
        assert_eq!(check_staff_step(&c, &step, 1), Ok(()), "configurable");
    }

    #[test]
    fn pausing_needs_a_reason_and_a_resume_date_ahead() {
        let c = case(InWork);
        let mut step = complete(Paused);
        step.has_note = false;
        assert!(matches!(
            check_staff_step(&c, &step, 3),
            Err(Refusal::Invalid { field: "note", .. })
        ));
        step.has_note = true;
        step.resume_on = None;
        assert!(matches!(
            check_staff_step(&c, &step, 3),
            Err(Refusal::Invalid {
                field: "resume_on",
                ..
            })
        ));
        step.resume_on = Some(c.today);
        assert!(
            matches!(
                check_staff_step(&c, &step, 3),
                Err(Refusal::Invalid {
                    field: "resume_on",
                    ..
                })
            ),
            "today is not ahead"
        );
        step.resume_on = Some(c.today + Duration::days(1));
        assert_eq!(check_staff_step(&c, &step, 3), Ok(()));
        step.resume_on = Some(c.today + Duration::days(LONGEST_PAUSE_DAYS));
        assert_eq!(check_staff_step(&c, &step, 3), Ok(()));
        step.resume_on = Some(c.today + Duration::days(LONGEST_PAUSE_DAYS + 1));
        assert!(matches!(
            check_staff_step(&c, &step, 3),
            Err(Refusal::Invalid {
                field: "resume_on",
                ..
            })
        ));
        let resume_on_other_step = Step {
            resume_on: Some(c.today + Duration::days(3)),
            ..complete(JobSeeking)
        };
        assert!(matches!(
            check_staff_step(&c, &resume_on_other_step, 3),
            Err(Refusal::Invalid {
                field: "resume_on",
                ..
            })
        ));
    }

    #[test]
    fn a_withdrawal_is_never_reopened_by_staff() {
        let c = Case {
            closed_reason: Some(ClosedReason::Withdrew),
            ..case(Closed)
        };
        let Err(Refusal::Conflict(why)) = check_staff_step(&c, &complete(JobSeeking), 3) else {
            panic!("a withdrawal is final for staff");
        };
        assert!(why.contains("withdrew"), "{why}");
        assert_eq!(
            check_staff_step(&case(Closed), &complete(JobSeeking), 3),
            Ok(()),
            "any other closure may be reopened"
        );
    }

    #[test]
    fn jobs_move_the_status() {
        assert_eq!(after_job_start(Referred), Some(InWork));
        assert_eq!(after_job_start(JobSeeking), Some(InWork));
        assert_eq!(after_job_start(Paused), Some(InWork));
        assert_eq!(after_job_start(InWork), None);
        assert_eq!(after_job_start(InEducation), None);
        assert_eq!(after_job_start(Closed), None);
        assert_eq!(after_last_job_end(InWork), Some(JobSeeking));
        for other in [Referred, JobSeeking, InEducation, Paused, Closed] {
            assert_eq!(after_last_job_end(other), None, "{other}");
        }
        for from in [JobSeeking, Paused] {
            assert!(
                allowed(from, InWork),
                "the table allows the job start's step"
            );
        }
        assert!(
            !allowed(Referred, InWork),
            "staff cannot say so by hand; only a recorded job takes a referred case into work"
        );
        assert!(allowed(InWork, JobSeeking));
    }
}
