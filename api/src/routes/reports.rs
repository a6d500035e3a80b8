//! A team's report for a period (outcomes and fidelity items), as JSON or as CSV for spreadsheets.
//! Every figure is defined in docs/reports.md.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use ips_core::domain::reports::{FidelityItem, Period, Report};
use ips_core::domain::Role;
use ips_core::store::{now, reports, teams, utc};
use serde::{Deserialize, Serialize};

use crate::auth::StaffCaller;
use crate::csv;
use crate::input::parse_query;
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

/// A date written exactly `YYYY-MM-DD` (chrono alone would also take `2025-1-5`).
fn date(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let Some(value) = value else {
        errors.push(FieldError::new(field, "is required, as YYYY-MM-DD"));
        return None;
    };
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let parsed = shaped
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten();
    if parsed.is_none() {
        errors.push(FieldError::new(field, "must be a date written YYYY-MM-DD"));
    }
    parsed
}

/// `format=csv|json` decides; without it, CSV when the `Accept` header ranks `text/csv` above
/// JSON (by its q-values), otherwise JSON.
fn format(query: Option<&str>, req: &HttpRequest, errors: &mut Vec<FieldError>) -> Format {
    match query {
        Some("json") => return Format::Json,
        Some("csv") => return Format::Csv,
        Some(_) => {
            errors.push(FieldError::new("format", "must be json or csv"));
            return Format::Json;
        }
        None => {}
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let quality = |wanted: &[&str]| -> f32 {
        accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let kind = pieces.next()?.trim().to_ascii_lowercase();
                if !wanted.contains(&kind.as_str()) {
                    return None;
                }
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q=")?.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some(q)
            })
            .fold(0.0, f32::max)
    };
    let csv = quality(&["text/csv"]);
    let json = quality(&["application/json", "application/*", "*/*"]);
    if csv > 0.0 && csv > json {
        Format::Csv
    } else {
        Format::Json
    }
}

#[derive(Debug, Serialize)]
struct TeamRef {
    id: i64,
    name: String,
}

#[derive(Debug, Serialize)]
struct PeriodView {
    from: NaiveDate,
    to: NaiveDate,
    days: i64,
    time_zone: String,
    measured_to: NaiveDate,
}

#[derive(Debug, Serialize)]
struct ClosedView {
    total: i64,
    by_reason: serde_json::Map<String, serde_json::Value>,
    share_work_or_education: Option<f64>,
}

#[derive(Debug, Serialize)]
struct ReportView<'a> {
    team: TeamRef,
    period: PeriodView,
    generated_at: DateTime<Utc>,
    participants: &'a ips_core::domain::reports::ParticipantFigures,
    closed_cases: ClosedView,
    job_search: &'a ips_core::domain::reports::JobSearchFigures,
    jobs: &'a ips_core::domain::reports::JobFigures,
    fidelity: &'a [FidelityItem],
}

/// A team's report. Supervisors of that team only: specialists, administrators and participants
/// are 403; another team (or none) is 404.
pub async fn team_report(
    state: web::Data<AppState>,
    caller: StaffCaller,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Supervisor])?;
    let team_id = path.into_inner();
    if caller.team_id != Some(team_id) {
        return Err(ApiError::NotFound);
    }
    let query = parse_query::<ReportQuery>(&req)?;
    let mut errors = Vec::new();
    let from = date("from", query.from.as_deref(), &mut errors);
    let to = date("to", query.to.as_deref(), &mut errors);
    let format = format(query.format.as_deref(), &req, &mut errors);
    let zone = state.config.report_zone();
    let period = match (from, to) {
        (Some(from), Some(to)) => match Period::new(from, to, zone) {
            Ok(period) => Some(period),
            Err(why) => {
                errors.push(FieldError::new("to", why.message()));
                None
            }
        },
        _ => None,
    };
    let period = match period {
        Some(period) if errors.is_empty() => period,
        _ => return Err(ApiError::Validation(errors)),
    };
    let generated = now();
    let (team, report) = state
        .db
        .run(move |conn| {
            let team = teams::get(conn, team_id)?;
            let report = reports::team_report(conn, team_id, &period, generated)?;
            Ok((team, report))
        })
        .await?;
    let closed = ClosedView {
        total: report.closed_cases.total,
        by_reason: report
            .closed_cases
            .by_reason
            .iter()
            .map(|(reason, n)| (reason.clone(), serde_json::Value::from(*n)))
            .collect(),
        share_work_or_education: report.closed_cases.share_work_or_education,
    };
    let view = ReportView {
        team: TeamRef {
            id: team.id,
            name: team.name,
        },
        period: PeriodView {
            from: period.from,
            to: period.to,
            days: period.days(),
            time_zone: zone.name().to_owned(),
            measured_to: report.measured_to,
        },
        generated_at: utc(generated),
        participants: &report.participants,
        closed_cases: closed,
        job_search: &report.job_search,
        jobs: &report.jobs,
        fidelity: &report.fidelity,
    };
    Ok(match format {
        Format::Json => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .json(&view),
        Format::Csv => {
            let filename = format!(
                "ips-report-team-{}-{}-{}.csv",
                view.team.id, view.period.from, view.period.to
            );
            HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8; header=present")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ))
                .insert_header((header::CACHE_CONTROL, "private, no-cache"))
                .body(to_csv(&view, &report))
        }
    })
}

fn number<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Null) | Err(_) => String::new(),
        Ok(v) => v.to_string(),
    }
}

/// One metric per record: `metric,label,value,target,meets`. Empty cells are nulls: no data, or
/// no target. Numbers are written as in the JSON answer.
fn to_csv(view: &ReportView<'_>, report: &Report) -> String {
    let mut out = String::new();
    let mut row = |metric: &str, label: &str, value: String, target: &str, meets: &str| {
        csv::push_record(&mut out, &[metric, label, &value, target, meets]);
    };
    row("metric", "label", "value".into(), "target", "meets");
    row("team.id", "Team id", view.team.id.to_string(), "", "");
    row(
        "team.name",
        "Team",
        csv::text(&view.team.name).into_owned(),
        "",
        "",
    );
    row(
        "period.from",
        "First day",
        view.period.from.to_string(),
        "",
        "",
    );
    row("period.to", "Last day", view.period.to.to_string(), "", "");
    row("period.days", "Days", view.period.days.to_string(), "", "");
    row(
        "period.time_zone",
        "Time zone of the days",
        view.period.time_zone.clone(),
        "",
        "",
    );
    row(
        "period.measured_to",
        "Figures see up to",
        view.period.measured_to.to_string(),
        "",
        "",
    );
    let p = &report.participants;
    row(
        "participants.active",
        "Active participants",
        number(&p.active),
        "",
        "",
    );
    row(
        "participants.new_enrolments",
        "New enrolments",
        number(&p.new_enrolments),
        "",
        "",
    );
    row(
        "participants.under_30",
        "Active participants under 30",
        number(&p.under_30),
        "",
        "",
    );
    row(
        "participants.birth_year_known",
        "Active participants with a known birth year",
        number(&p.birth_year_known),
        "",
        "",
    );
    row(
        "participants.birth_year_unknown",
        "Active participants with no birth year",
        number(&p.birth_year_unknown),
        "",
        "",
    );
    row(
        "participants.share_under_30",
        "Share under 30 (of known birth years)",
        number(&p.share_under_30),
        "",
        "",
    );
    let c = &report.closed_cases;
    row(
        "closed_cases.total",
        "Closed cases",
        number(&c.total),
        "",
        "",
    );
    for (reason, n) in &c.by_reason {
        row(
            &format!("closed_cases.by_reason.{reason}"),
            &format!("Closed cases: {}", reason.replace('_', " ")),
            number(n),
            "",
            "",
        );
    }
    row(
        "closed_cases.share_work_or_education",
        "Share of closed cases ending in work or education",
        number(&c.share_work_or_education),
        "",
        "",
    );
    let s = &report.job_search;
    row(
        "job_search.first_employer_contacts",
        "Participants with a first employer contact",
        number(&s.first_employer_contacts),
        "",
        "",
    );
    row(
        "job_search.median_days_to_first_employer_contact",
        "Median days from enrolment to first employer contact",
        number(&s.median_days_to_first_employer_contact),
        "",
        "",
    );
    row(
        "job_search.first_jobs",
        "Participants starting their first competitive job",
        number(&s.first_jobs),
        "",
        "",
    );
    row(
        "job_search.median_days_to_first_job",
        "Median days from enrolment to first competitive job",
        number(&s.median_days_to_first_job),
        "",
        "",
    );
    let j = &report.jobs;
    row("jobs.started", "Jobs started", number(&j.started), "", "");
    row(
        "jobs.started_competitive",
        "Competitive jobs started",
        number(&j.started_competitive),
        "",
        "",
    );
    row(
        "jobs.ended_competitive",
        "Competitive jobs ended",
        number(&j.ended_competitive),
        "",
        "",
    );
    row(
        "jobs.median_tenure_days",
        "Median tenure of competitive jobs ended (days)",
        number(&j.median_tenure_days),
        "",
        "",
    );
    row(
        "jobs.retention_90_days.measurable",
        "Competitive jobs reaching day 90 in the period",
        number(&j.retention_90_days.measurable),
        "",
        "",
    );
    row(
        "jobs.retention_90_days.retained",
        "Of those, still held on day 90",
        number(&j.retention_90_days.retained),
        "",
        "",
    );
    row(
        "jobs.retention_90_days.share",
        "90-day retention",
        number(&j.retention_90_days.share),
        "",
        "",
    );
    for item in &report.fidelity {
        let target = format!(
            "{} {}",
            item.target.comparison.as_str(),
            number(&item.target.value)
        );
        let meets = item.meets.map(|m| m.to_string()).unwrap_or_default();
        row(
            &format!("fidelity.item_{}.{}", item.item, item.key),
            &format!(
                "Fidelity item {}: {} ({})",
                item.item, item.title, item.unit
            ),
            number(&item.value),
            &target,
            &meets,
        );
        row(
            &format!("fidelity.item_{}.counted", item.item),
            &format!("Fidelity item {}: cases counted", item.item),
            number(&item.counted),
            "",
            "",
        );
    }
    out
}
