//! The facts a team report is computed from (`domain::reports`), loaded in one read snapshot.
//!
//! Ten queries, each over one team's rows only, each reachable through an index that starts with the
//! team or the participant (`participants_team_idx`, then the per-participant indexes of
//! `status_changes`, `jobs` and `contact_requests`; `contacts_team_idx` for the contact log), so
//! the cost follows the size of the team and the period, not of the whole database. The per-case
//! arithmetic (dates in the report's time zone, medians) is done in Rust, the same on both backends.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use super::StoreError;
use crate::db::{read_transaction, DbConnection};
use crate::domain::reports::{
    compute, JobFact, ParticipantFacts, Period, Report, ReportFacts, StatusFact, AFTER_LOSS_DAYS,
    AFTER_START_DAYS, BEFORE_START_DAYS, RETENTION_DAYS,
};
use crate::domain::Role;
use crate::schema::{contact_requests, contacts, jobs, participants, staff, status_changes};

/// The team's report for the period, as of `now`.
pub fn team_report(
    conn: &mut DbConnection,
    team: i64,
    period: &Period,
    now: NaiveDateTime,
) -> Result<Report, StoreError> {
    let facts = read_transaction(conn, |conn| facts(conn, team, period, now))?;
    Ok(compute(period, &facts))
}

pub fn facts(
    conn: &mut DbConnection,
    team: i64,
    period: &Period,
    now: NaiveDateTime,
) -> Result<ReportFacts, StoreError> {
    let start = period.start();
    let end = period.end();

    let active_specialists = staff::table
        .filter(staff::team_id.eq(team))
        .filter(staff::role.eq(Role::Specialist.as_str()))
        .filter(staff::active.eq(true))
        .select(count_star())
        .first(conn)?;

    let people = participants::table
        .filter(participants::team_id.eq(team))
        .filter(participants::enrolled_at.lt(end))
        .select((
            participants::id,
            participants::enrolled_at,
            participants::birth_year,
            participants::withdrawn_at,
        ))
        .load::<(i64, NaiveDateTime, Option<i32>, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .map(
            |(id, enrolled_at, birth_year, withdrawn_at)| ParticipantFacts {
                id,
                enrolled_at,
                birth_year,
                withdrawn_at,
            },
        )
        .collect();

    let history = status_changes::table
        .inner_join(participants::table)
        .filter(participants::team_id.eq(team))
        .filter(status_changes::changed_at.lt(end))
        .select((
            status_changes::id,
            status_changes::participant_id,
            status_changes::changed_at,
            status_changes::to_status,
            status_changes::closed_reason,
        ))
        .load::<(i64, i64, NaiveDateTime, String, Option<String>)>(conn)?
        .into_iter()
        .map(
            |(id, participant_id, changed_at, to_status, closed_reason)| StatusFact {
                id,
                participant_id,
                changed_at,
                to_status,
                closed_reason,
            },
        )
        .collect();

    // The earliest employer contact about each participant, ever: the first is what counts,
    // wherever it falls, and `compute` keeps those in the period.
    let first_employer_contacts = first_contacts_with_employers(conn, team, None)?;
    let first_employer_meetings = first_contacts_with_employers(conn, team, Some("meeting"))?;

    let first_competitive_jobs = jobs::table
        .inner_join(participants::table)
        .filter(participants::team_id.eq(team))
        .filter(jobs::competitive.eq(true))
        .group_by(jobs::participant_id)
        .select((jobs::participant_id, min(jobs::start_date)))
        .load::<(i64, Option<NaiveDate>)>(conn)?
        .into_iter()
        .filter_map(|(id, first)| Some((id, first?)))
        .collect();

    let jobs = jobs::table
        .inner_join(participants::table)
        .filter(participants::team_id.eq(team))
        .filter(
            jobs::start_date
                .between(
                    period.from - Duration::days(RETENTION_DAYS),
                    period.to + Duration::days(1),
                )
                .or(jobs::end_date.between(
                    period.from - Duration::days(AFTER_START_DAYS.max(AFTER_LOSS_DAYS)),
                    period.to,
                )),
        )
        .select((
            jobs::participant_id,
            jobs::start_date,
            jobs::end_date,
            jobs::competitive,
        ))
        .load::<(i64, NaiveDate, Option<NaiveDate>, bool)>(conn)?
        .into_iter()
        .map(
            |(participant_id, start_date, end_date, competitive)| JobFact {
                participant_id,
                start_date,
                end_date,
                competitive,
            },
        )
        .collect();

    let contacts_from = period.midnight(period.from - Duration::days(BEFORE_START_DAYS));
    let participant_contacts = contacts::table
        .filter(contacts::team_id.eq(team))
        .filter(contacts::party.eq("participant"))
        .filter(contacts::contacted_at.ge(contacts_from))
        .filter(contacts::contacted_at.lt(end))
        .filter(contacts::reached.eq(true))
        .select((contacts::participant_id, contacts::contacted_at))
        .load::<(Option<i64>, NaiveDateTime)>(conn)?
        .into_iter()
        .filter_map(|(id, at)| Some((id?, at)))
        .collect();

    let first_benefits_counselling = contact_requests::table
        .inner_join(participants::table)
        .filter(participants::team_id.eq(team))
        .filter(contact_requests::kind.eq("benefits_counselling"))
        .filter(contact_requests::status.eq("handled"))
        .group_by(contact_requests::participant_id)
        .select((
            contact_requests::participant_id,
            min(contact_requests::handled_at),
        ))
        .load::<(i64, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .filter_map(|(id, at)| Some((id, at?)))
        .collect();

    let employer_meetings = contacts::table
        .filter(contacts::team_id.eq(team))
        .filter(contacts::party.eq("employer"))
        .filter(contacts::contacted_at.ge(start))
        .filter(contacts::contacted_at.lt(end.min(now)))
        .filter(contacts::channel.eq("meeting"))
        .filter(contacts::reached.eq(true))
        .select(count_star())
        .first(conn)?;

    Ok(ReportFacts {
        now,
        active_specialists,
        participants: people,
        history,
        first_employer_contacts,
        first_employer_meetings,
        first_competitive_jobs,
        jobs,
        participant_contacts,
        first_benefits_counselling,
        employer_meetings,
    })
}

/// Per participant of the team, the earliest employer contact about them that reached the
/// employer (face to face only when `channel` is `meeting`).
fn first_contacts_with_employers(
    conn: &mut DbConnection,
    team: i64,
    channel: Option<&str>,
) -> Result<Vec<(i64, NaiveDateTime)>, StoreError> {
    let mut query = contacts::table
        .filter(contacts::team_id.eq(team))
        .filter(contacts::party.eq("employer"))
        .filter(contacts::participant_id.is_not_null())
        .filter(contacts::reached.eq(true))
        .group_by(contacts::participant_id)
        .select((contacts::participant_id, min(contacts::contacted_at)))
        .into_boxed();
    if let Some(channel) = channel {
        query = query.filter(contacts::channel.eq(channel.to_owned()));
    }
    Ok(query
        .load::<(Option<i64>, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .filter_map(|(id, at)| Some((id?, at?)))
        .collect())
}
