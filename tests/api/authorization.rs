//! The authorisation matrix: every route of the API, called by every kind of caller, from the
//! attacker's side.
//!
//! The rows come from the route table itself (`ips_api::routes::table()`): a route that is not
//! classified here fails `every_route_is_in_the_matrix` by name, so a new route cannot slip past.
//! Each row names its class, and a class is one line of the matrix: what each caller must get.
//!
//! The world: participants A and B of the same specialist, C of a specialist in another team, and a
//! spare participant D for the public enrol/refresh routes; every one of A, B and C has an
//! interview, a message, a contact request (and so an alert to their specialist), job preferences, a
//! push device, a calendar feed and an outstanding enrolment code. Every text of theirs carries their name ("Alpha", "Bravo", ...), so a
//! leak shows as a foreign name in a response. The victim is always A (A's records, A's team, A's
//! specialist's account and push device).
//!
//! Every refusal (401, 403, 404) is also asked for ids that do not exist, and the two answers must
//! be identical: a refusal never tells whether the record exists. No answer anywhere is a 5xx.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::devices::{another_session, session_for};
use crate::helpers::{Reply, TestApp, World, PASSWORD};

/// The callers: the columns of the matrix, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// The victim: the owner of the records, as a control that the routes work at all.
    A,
    /// Another participant of A's own specialist.
    B,
    /// A participant in another team.
    C,
    /// A's specialist.
    Specialist,
    /// A specialist in A's team who does not have A in their caseload.
    Colleague,
    /// A specialist in another team.
    Outsider,
    /// The supervisor of A's team.
    Supervisor,
    /// The supervisor of another team.
    OtherSupervisor,
    Admin,
}

const CALLERS: [Caller; 10] = [
    Caller::Anonymous,
    Caller::A,
    Caller::B,
    Caller::C,
    Caller::Specialist,
    Caller::Colleague,
    Caller::Outsider,
    Caller::Supervisor,
    Caller::OtherSupervisor,
    Caller::Admin,
];

/// The participants' names, one per participant; each of their texts carries it.
const MARKERS: [&str; 4] = ["Alpha", "Bravo", "Charlie", "Delta"];

impl Caller {
    /// Whose names this caller may legitimately read.
    fn may_see(self) -> &'static [&'static str] {
        match self {
            Caller::A => &["Alpha"],
            Caller::B => &["Bravo"],
            Caller::C => &["Charlie"],
            // A, B and D are the specialist's caseload and the supervisor's team.
            Caller::Specialist | Caller::Supervisor => &["Alpha", "Bravo", "Delta"],
            Caller::Outsider | Caller::OtherSupervisor => &["Charlie"],
            Caller::Anonymous | Caller::Colleague | Caller::Admin => &[],
        }
    }

    /// The caller's role, as `x-roles` in openapi.yaml names it (`public`: no token).
    fn role(self) -> &'static str {
        match self {
            Caller::Anonymous => "public",
            Caller::A | Caller::B | Caller::C => "participant",
            Caller::Specialist | Caller::Colleague | Caller::Outsider => "specialist",
            Caller::Supervisor | Caller::OtherSupervisor => "supervisor",
            Caller::Admin => "admin",
        }
    }

    fn may_see_a(self) -> bool {
        self.may_see().contains(&"Alpha")
    }
}

/// What a caller must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 401 problem+json.
    Unauthorised,
    /// 403 problem+json.
    Forbidden,
    /// 404 problem+json (422 naming the field when the record's id travels in the body), the very
    /// answer given for ids that do not exist.
    Hidden,
    /// Reached: 2xx, or a 4xx other than 401/403/404 where the minimal body or the record's state
    /// decides (a 409 for an interview already cancelled, a 422 for a supervisor who names no
    /// specialist). No foreign participant's name or record id appears in the answer.
    Allowed,
    /// Allowed, but not called: the call would end the caller's own session or account, or a
    /// token changes nothing (see the class).
    NotRun,
}

fn expectations(grid: &str) -> Vec<Expect> {
    let cells: Vec<Expect> = grid
        .split_whitespace()
        .map(|cell| match cell {
            "401" => Expect::Unauthorised,
            "403" => Expect::Forbidden,
            "404" => Expect::Hidden,
            "ok" => Expect::Allowed,
            "-" => Expect::NotRun,
            other => panic!("unknown cell {other:?} in {grid:?}"),
        })
        .collect();
    assert_eq!(cells.len(), CALLERS.len(), "one cell per caller: {grid:?}");
    cells
}

/// A class of routes: one line of the matrix.
#[derive(Debug, Clone, Copy)]
struct Class {
    name: &'static str,
    grid: &'static str,
}

impl Class {
    const fn new(name: &'static str, grid: &'static str) -> Class {
        Class { name, grid }
    }
}

#[rustfmt::skip]
mod classes {
    use super::Class;
    //                                                                       anon A   B   C   spec col out sup osup admin
    /// No token needed: health, metrics, the contract, logging in and enrolling, the calendar
    /// feed (its secret URL is the credential). A token changes nothing there, so only the
    /// anonymous call runs.
    pub const PUBLIC: Class          = Class::new("public",               "ok   -   -   -   -   -   -   -   -   -");
    /// Logging out ends the caller's own session, which the rest of the matrix still needs.
    pub const LOGOUT: Class          = Class::new("logout",               "401  -   -   -   -   -   -   -   -   -");
    /// Anyone's own sessions.
    pub const SESSIONS: Class        = Class::new("own sessions",         "401  ok  ok  ok  ok  ok  ok  ok  ok  ok");
    /// One of A's sessions (A's spare device): only A may end it.
    pub const SESSION: Class         = Class::new("A's session",          "401  ok  404 404 404 404 404 404 404 404");
    /// A staff member's own password: run once, by the specialist, to the same password.
    pub const PASSWORD_CHANGE: Class = Class::new("password",             "401  403 403 403 ok  -   -   -   -   -");
    /// The participant's own records under /v1/me, with no id of A's to aim at.
    pub const ME: Class              = Class::new("participant",          "401  ok  ok  ok  403 403 403 403 403 403");
    /// One of A's records under /v1/me (its id in the path or in the body).
    pub const ME_RECORD: Class       = Class::new("participant's record", "401  ok  404 404 403 403 403 403 403 403");
    /// Withdrawing ends every session of the participant; staff are refused before anything.
    pub const WITHDRAW: Class        = Class::new("withdrawal",           "401  -   -   -   403 403 403 403 403 403");
    /// The caseload index: listing and enrolling (admins have no caseload).
    pub const CASELOAD_INDEX: Class  = Class::new("caseload index",       "401  403 403 403 ok  ok  ok  ok  ok  403");
    /// A's records under /v1/participants/{id}: A's specialist and A's team's supervisor only.
    pub const CASELOAD: Class        = Class::new("caseload",             "401  403 403 403 ok  404 404 ok  404 403");
    /// A's audit trail, for supervisors only (it records the specialists' actions): every
    /// specialist is refused by role, for every participant alike, so the 403 tells nothing;
    /// another team's supervisor does not find A.
    pub const OVERSIGHT: Class       = Class::new("oversight",            "401  403 403 403 403 403 403 ok  404 403");
    /// Any staff member, on their own account and team.
    pub const STAFF_SELF: Class      = Class::new("staff self",           "401  403 403 403 ok  ok  ok  ok  ok  ok");
    /// A's specialist's own push device: no one else finds it.
    pub const STAFF_DEVICE: Class    = Class::new("staff device",         "401  403 403 403 ok  404 404 404 404 404");
    /// A notification sent to A's specialist: no one else finds it.
    pub const STAFF_NOTICE: Class    = Class::new("staff notification",   "401  403 403 403 ok  404 404 404 404 404");
    /// Administrators only: teams and accounts are created and edited by them.
    pub const ADMIN: Class           = Class::new("admin",                "401  403 403 403 403 403 403 403 403 ok");
    /// A's team: its own staff and admins read it; another team's staff do not find it.
    pub const TEAM: Class            = Class::new("A's team",             "401  403 403 403 ok  ok  404 ok  404 ok");
    /// The staff directory: supervisors (their team) and admins.
    pub const STAFF_LIST: Class      = Class::new("staff list",           "401  403 403 403 403 403 403 ok  ok  ok");
    /// A's specialist's account: themselves, their supervisor and admins.
    pub const STAFF_MEMBER: Class    = Class::new("A's specialist",       "401  403 403 403 ok  404 404 ok  404 ok");
    /// An employer contact naming A (`participant_id` in the body): A's specialist and A's team's
    /// supervisor; other staff are answered as for a participant that does not exist (422).
    pub const EMPLOYER_CONTACT: Class = Class::new("employer contact about A", "401  403 403 403 ok  404 404 ok  404 403");
    /// A supervisor's view of their own team's specialists: every supervisor has one; specialists
    /// and admins are refused by role.
    pub const TEAM_OVERVIEW: Class   = Class::new("team overview",        "401  403 403 403 403 403 403 ok  ok  403");
    /// A's team's report: its supervisor only; specialists and admins are refused by role, for
    /// every team alike; another team's supervisor does not find it.
    pub const TEAM_REPORT: Class     = Class::new("A's team's report",    "401  403 403 403 403 403 403 ok  404 403");
    /// An alert about A: A's specialist and A's team's supervisor only, like A's records.
    pub const ALERT: Class           = Class::new("alert about A",        "401  403 403 403 ok  404 404 ok  404 403");
}

use classes::*;

/// The minimal valid body each route needs, so that the answer reflects authorisation, not
/// validation (the body is read alongside the token, so a bad one could answer first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    EmptyObject,
    Login,
    Enrol,
    Refresh,
    Password,
    Team,
    TeamPatch,
    NewStaff,
    StaffPatch,
    Device,
    DevicePatch,
    Enrolment,
    MePatch,
    JobPreferences,
    Message,
    /// Carries a message id: the record's id travels in the body.
    ReadUpTo,
    ContactRequest,
    HandleContactRequest,
    /// Names the colleague as A's new specialist.
    Reassign,
    Interview,
    InterviewPatch,
    Outcome,
    // Follow-up without end.
    PlanPatch,
    StatusStep,
    Job,
    JobPatch,
    JobEnd,
    Contact,
    /// Carries A's participant id: the record's id travels in the body.
    EmployerContact,
    Snooze,
    WebhookEndpoint,
    WebhookEndpointPatch,
}

/// One row of the matrix: a route of the table, its class and the body it is sent.
struct Row {
    method: &'static str,
    path: &'static str,
    class: Class,
    body: Body,
}

const fn row(method: &'static str, path: &'static str, class: Class, body: Body) -> Row {
    Row {
        method,
        path,
        class,
        body,
    }
}

#[rustfmt::skip]
const MATRIX: &[Row] = &[
    row("GET",    "/health/live",                                             PUBLIC,          Body::None),
    row("GET",    "/health/ready",                                            PUBLIC,          Body::None),
    row("GET",    "/metrics",                                                 PUBLIC,          Body::None),
    row("GET",    "/openapi.yaml",                                            PUBLIC,          Body::None),
    row("GET",    "/docs",                                                    PUBLIC,          Body::None),
    row("GET",    "/docs/redoc.standalone.js",                                PUBLIC,          Body::None),
    row("POST",   "/v1/auth/login",                                           PUBLIC,          Body::Login),
    row("POST",   "/v1/auth/enrol",                                           PUBLIC,          Body::Enrol),
    row("POST",   "/v1/auth/refresh",                                         PUBLIC,          Body::Refresh),
    row("GET",    "/v1/calendar/{token}",                                     PUBLIC,          Body::None),
    row("POST",   "/v1/auth/logout",                                          LOGOUT,          Body::None),
    row("POST",   "/v1/auth/password",                                        PASSWORD_CHANGE, Body::Password),
    row("GET",    "/v1/auth/sessions",                                        SESSIONS,        Body::None),
    row("DELETE", "/v1/auth/sessions/{id}",                                   SESSION,         Body::None),

    row("GET",    "/v1/teams",                                                STAFF_SELF,      Body::None),
    row("POST",   "/v1/teams",                                                ADMIN,           Body::Team),
    row("GET",    "/v1/teams/{id}",                                           TEAM,            Body::None),
    row("PATCH",  "/v1/teams/{id}",                                           ADMIN,           Body::TeamPatch),
    row("GET",    "/v1/staff",                                                STAFF_LIST,      Body::None),
    row("POST",   "/v1/staff",                                                ADMIN,           Body::NewStaff),
    row("GET",    "/v1/staff/{id}",                                           STAFF_MEMBER,    Body::None),
    row("PATCH",  "/v1/staff/{id}",                                           ADMIN,           Body::StaffPatch),
    row("GET",    "/v1/staff/me",                                             STAFF_SELF,      Body::None),
    row("POST",   "/v1/staff/me/devices",                                     STAFF_SELF,      Body::Device),
    row("GET",    "/v1/staff/me/devices",                                     STAFF_SELF,      Body::None),
    row("GET",    "/v1/staff/me/notifications",                               STAFF_SELF,      Body::None),
    row("GET",    "/v1/staff/me/notifications/unread",                        STAFF_SELF,      Body::None),
    row("POST",   "/v1/staff/me/notifications/{id}/read",                     STAFF_NOTICE,    Body::None),
    row("POST",   "/v1/staff/me/notifications/read-all",                      STAFF_SELF,      Body::None),
    row("GET",    "/v1/staff/me/devices/{id}",                                STAFF_DEVICE,    Body::None),
    row("DELETE", "/v1/staff/me/devices/{id}",                                STAFF_DEVICE,    Body::None),

    row("GET",    "/v1/participants",                                         CASELOAD_INDEX,  Body::None),
    row("POST",   "/v1/participants",                                         CASELOAD_INDEX,  Body::Enrolment),
    row("GET",    "/v1/participants/{id}",                                    CASELOAD,        Body::None),
    row("POST",   "/v1/participants/{id}/enrolment-code",                     CASELOAD,        Body::None),
    row("GET",    "/v1/participants/{id}/audit-events",                       OVERSIGHT,       Body::None),
    row("GET",    "/v1/participants/{id}/job-preferences",                    CASELOAD,        Body::None),
    row("PUT",    "/v1/participants/{id}/job-preferences",                    CASELOAD,        Body::JobPreferences),
    row("GET",    "/v1/participants/{id}/job-preferences/history",            CASELOAD,        Body::None),
    row("GET",    "/v1/participants/{id}/messages",                           CASELOAD,        Body::None),
    row("POST",   "/v1/participants/{id}/messages",                           CASELOAD,        Body::Message),
    row("POST",   "/v1/participants/{id}/messages/read",                      CASELOAD,        Body::ReadUpTo),
    row("GET",    "/v1/participants/{id}/messages/unread",                    CASELOAD,        Body::None),
    row("GET",    "/v1/participants/{id}/contact-requests",                   CASELOAD,        Body::None),
    row("PATCH",  "/v1/participants/{id}/contact-requests/{request_id}",      CASELOAD,        Body::HandleContactRequest),
    row("GET",    "/v1/participants/{id}/interviews",                         CASELOAD,        Body::None),
    row("POST",   "/v1/participants/{id}/interviews",                         CASELOAD,        Body::Interview),
    row("GET",    "/v1/participants/{id}/interviews/{interview_id}",          CASELOAD,        Body::None),
    row("PATCH",  "/v1/participants/{id}/interviews/{interview_id}",          CASELOAD,        Body::InterviewPatch),
    row("POST",   "/v1/participants/{id}/interviews/{interview_id}/cancel",   CASELOAD,        Body::None),
    row("POST",   "/v1/participants/{id}/interviews/{interview_id}/outcome",  CASELOAD,        Body::Outcome),

    row("GET",    "/v1/me",                                                   ME,              Body::None),
    row("PATCH",  "/v1/me",                                                   ME,              Body::MePatch),
    row("GET",    "/v1/me/team",                                              ME,              Body::None),
    row("POST",   "/v1/me/withdraw",                                          WITHDRAW,        Body::EmptyObject),
    row("GET",    "/v1/me/job-preferences",                                   ME,              Body::None),
    row("PUT",    "/v1/me/job-preferences",                                   ME,              Body::JobPreferences),
    row("POST",   "/v1/me/devices",                                           ME,              Body::Device),
    row("GET",    "/v1/me/devices",                                           ME,              Body::None),
    row("GET",    "/v1/me/devices/{id}",                                      ME_RECORD,       Body::None),
    row("PATCH",  "/v1/me/devices/{id}",                                      ME_RECORD,       Body::DevicePatch),
    row("DELETE", "/v1/me/devices/{id}",                                      ME_RECORD,       Body::None),
    row("GET",    "/v1/me/notifications",                                     ME,              Body::None),
    row("GET",    "/v1/me/notifications/unread",                              ME,              Body::None),
    row("POST",   "/v1/me/notifications/{id}/read",                           ME_RECORD,       Body::None),
    row("POST",   "/v1/me/notifications/read-all",                            ME,              Body::None),
    row("GET",    "/v1/me/export",                                            ME,              Body::None),
    row("GET",    "/v1/me/messages",                                          ME,              Body::None),
    row("POST",   "/v1/me/messages",                                          ME,              Body::Message),
    row("POST",   "/v1/me/messages/read",                                     ME_RECORD,       Body::ReadUpTo),
    row("GET",    "/v1/me/messages/unread",                                   ME,              Body::None),
    row("GET",    "/v1/me/contact-requests",                                  ME,              Body::None),
    row("POST",   "/v1/me/contact-requests",                                  ME,              Body::ContactRequest),
    row("GET",    "/v1/me/interviews",                                        ME,              Body::None),
    row("POST",   "/v1/me/interviews",                                        ME,              Body::Interview),
    row("GET",    "/v1/me/interviews/{id}",                                   ME_RECORD,       Body::None),
    row("PATCH",  "/v1/me/interviews/{id}",                                   ME_RECORD,       Body::InterviewPatch),
    row("POST",   "/v1/me/interviews/{id}/confirm",                           ME_RECORD,       Body::None),
    row("POST",   "/v1/me/interviews/{id}/cancel",                            ME_RECORD,       Body::None),
    row("POST",   "/v1/me/interviews/{id}/outcome",                           ME_RECORD,       Body::Outcome),
    row("POST",   "/v1/me/interviews/{id}/need-to-talk",                      ME_RECORD,       Body::None),
    row("GET",    "/v1/me/interviews/{id}/ics",                               ME_RECORD,       Body::None),
    row("POST",   "/v1/me/calendar-feed",                                     ME,              Body::None),
    row("DELETE", "/v1/me/calendar-feed",                                     ME,              Body::None),

    row("GET",    "/v1/participants/{id}/follow-up-plan",                     CASELOAD,        Body::None),
    row("PATCH",  "/v1/participants/{id}/follow-up-plan",                     CASELOAD,        Body::PlanPatch),
    row("POST",   "/v1/participants/{id}/status",                             CASELOAD,        Body::StatusStep),
    row("GET",    "/v1/participants/{id}/status-history",                     CASELOAD,        Body::None),
    row("GET",    "/v1/participants/{id}/jobs",                               CASELOAD,        Body::None),
    row("POST",   "/v1/participants/{id}/jobs",                               CASELOAD,        Body::Job),
    row("GET",    "/v1/participants/{id}/jobs/{job_id}",                      CASELOAD,        Body::None),
    row("PATCH",  "/v1/participants/{id}/jobs/{job_id}",                      CASELOAD,        Body::JobPatch),
    row("POST",   "/v1/participants/{id}/jobs/{job_id}/end",                  CASELOAD,        Body::JobEnd),
    row("GET",    "/v1/participants/{id}/contacts",                           CASELOAD,        Body::None),
    row("POST",   "/v1/participants/{id}/contacts",                           CASELOAD,        Body::Contact),
    row("GET",    "/v1/employer-contacts",                                    CASELOAD_INDEX,  Body::None),
    row("POST",   "/v1/employer-contacts",                                    EMPLOYER_CONTACT, Body::EmployerContact),
    row("GET",    "/v1/me/follow-up",                                         ME,              Body::None),
    row("GET",    "/v1/me/jobs",                                              ME,              Body::None),
    row("POST",   "/v1/me/jobs",                                              ME,              Body::Job),
    row("POST",   "/v1/me/jobs/{id}/end",                                     ME_RECORD,       Body::JobEnd),
    row("GET",    "/v1/caseload",                                             CASELOAD_INDEX,  Body::None),
    row("GET",    "/v1/caseload/specialists",                                 TEAM_OVERVIEW,   Body::None),
    // Reassignment is the supervisor's (OVERSIGHT): A moves to the colleague in the supervisor's
    // column, after every other call on A has run.
    row("POST",   "/v1/participants/{id}/reassign",                           OVERSIGHT,       Body::Reassign),
    row("GET",    "/v1/teams/{id}/report",                                    TEAM_REPORT,     Body::None),
    row("GET",    "/v1/alerts",                                               CASELOAD_INDEX,  Body::None),
    row("GET",    "/v1/alerts/{id}",                                          ALERT,           Body::None),
    row("POST",   "/v1/alerts/{id}/acknowledge",                              ALERT,           Body::None),
    row("POST",   "/v1/alerts/{id}/snooze",                                   ALERT,           Body::Snooze),
    row("POST",   "/v1/alerts/{id}/resolve",                                  ALERT,           Body::EmptyObject),
    row("GET",    "/v1/webhook-endpoints",                                    ADMIN,           Body::None),
    row("POST",   "/v1/webhook-endpoints",                                    ADMIN,           Body::WebhookEndpoint),
    row("GET",    "/v1/webhook-endpoints/{id}",                               ADMIN,           Body::None),
    row("PATCH",  "/v1/webhook-endpoints/{id}",                               ADMIN,           Body::WebhookEndpointPatch),
    row("DELETE", "/v1/webhook-endpoints/{id}",                               ADMIN,           Body::None),
    row("POST",   "/v1/webhook-endpoints/{id}/rotate-secret",                 ADMIN,           Body::None),
    row("POST",   "/v1/webhook-endpoints/{id}/ping",                          ADMIN,           Body::None),
    row("GET",    "/v1/webhook-endpoints/{id}/deliveries",                    ADMIN,           Body::None),
    row("POST",   "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver", ADMIN,      Body::None),
];

/// The routes the app serves, as (method, OpenAPI path), in the table's order, each once.
fn served() -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    ips_api::routes::table()
        .iter()
        .map(|r| {
            (
                r.method.as_str().to_owned(),
                ips_api::routes::openapi_path(r.path),
            )
        })
        .filter(|key| seen.insert(key.clone()))
        .collect()
}

fn matrix_row(method: &str, path: &str) -> Option<&'static Row> {
    MATRIX.iter().find(|r| r.method == method && r.path == path)
}

#[test]
fn every_route_is_in_the_matrix() {
    let served = served();
    let unclassified: Vec<String> = served
        .iter()
        .filter(|(m, p)| matrix_row(m, p).is_none())
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        unclassified.is_empty(),
        "routes not classified in tests/api/authorization.rs (add a row with its class and body): {unclassified:?}"
    );
    let stale: Vec<String> = MATRIX
        .iter()
        .filter(|r| !served.iter().any(|(m, p)| m == r.method && p == r.path))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes that do not exist: {stale:?}"
    );
    for r in MATRIX {
        expectations(r.class.grid);
    }
}

/// The roles a line of the matrix lets call its routes, in the order `x-roles` lists them: a
/// role whose callers are reached (even if answered 404 for the victim's record, which is not
/// theirs) may call the route; a role refused with 401 or 403 may not. A route anyone may call
/// is `public` alone.
fn roles(class: Class) -> Vec<&'static str> {
    let cells: Vec<(Caller, Expect)> = CALLERS
        .iter()
        .copied()
        .zip(expectations(class.grid))
        .collect();
    let reached = |e: Expect| matches!(e, Expect::Allowed | Expect::Hidden | Expect::NotRun);
    if cells
        .iter()
        .any(|(c, e)| *c == Caller::Anonymous && reached(*e))
    {
        return vec!["public"];
    }
    let mut out = Vec::new();
    for role in ["participant", "specialist", "supervisor", "admin"] {
        let of_role: Vec<bool> = cells
            .iter()
            .filter(|(c, _)| c.role() == role)
            .map(|(_, e)| reached(*e))
            .collect();
        assert!(
            of_role.iter().all(|r| *r) || of_role.iter().all(|r| !*r),
            "the {} class refuses some {role}s by role and lets others in",
            class.name
        );
        if of_role[0] {
            out.push(role);
        }
    }
    out
}

/// openapi.yaml says, in each operation's `x-roles` and in its description ("Roles: ..."),
/// which roles may call it; that must be what the matrix enforces, so the contract cannot drift
/// from the rules.
#[test]
fn the_contract_names_the_roles_the_matrix_enforces() {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(ips_api::OPENAPI_YAML).expect("openapi.yaml is YAML");
    let mut wrong = Vec::new();
    for (method, path) in served() {
        let Some(row) = matrix_row(&method, &path) else {
            continue; // every_route_is_in_the_matrix names it
        };
        let op = &doc["paths"][path.as_str()][method.to_lowercase().as_str()];
        let enforced = roles(row.class);
        let documented: Option<Vec<&str>> = op["x-roles"]
            .as_sequence()
            .map(|roles| roles.iter().filter_map(|r| r.as_str()).collect());
        if documented.as_deref() != Some(enforced.as_slice()) {
            wrong.push(format!(
                "{method} {path}: x-roles is {documented:?}, the matrix ({} class) allows {enforced:?}",
                row.class.name
            ));
        }
        let sentence = format!("Roles: {}.", enforced.join(", "));
        if !op["description"]
            .as_str()
            .is_some_and(|d| d.contains(&sentence))
        {
            wrong.push(format!(
                "{method} {path}: the description does not say {sentence:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "openapi.yaml and the matrix disagree:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_route_is_listed_twice() {
    let mut seen = BTreeSet::new();
    for r in ips_api::routes::table() {
        assert!(
            seen.insert((r.method.as_str().to_owned(), r.path)),
            "{} {} is in the route table twice",
            r.method,
            r.path
        );
    }
}

/// The ids a row's path and body are filled with.
#[derive(Debug, Clone)]
struct Ids {
    participant: i64,
    interview: i64,
    message: i64,
    contact_request: i64,
    device: i64,
    session: i64,
    staff_device: i64,
    team: i64,
    staff: i64,
    calendar_token: String,
    notification: i64,
    staff_notification: i64,
    job: i64,
    alert: i64,
    webhook_endpoint: i64,
    webhook_delivery: i64,
}

impl Ids {
    /// Ids no record has.
    fn nobody() -> Ids {
        Ids {
            participant: 900_000_001,
            interview: 900_000_002,
            message: 900_000_003,
            contact_request: 900_000_004,
            device: 900_000_005,
            session: 900_000_006,
            staff_device: 900_000_007,
            team: 900_000_008,
            staff: 900_000_009,
            notification: 900_000_010,
            staff_notification: 900_000_011,
            job: 900_000_012,
            alert: 900_000_013,
            webhook_endpoint: 900_000_014,
            webhook_delivery: 900_000_015,
            calendar_token: ips_core::domain::tokens::generate(
                ips_core::domain::tokens::TokenKind::CalendarFeed,
            ),
        }
    }
}

/// The path with its placeholders filled; which id a placeholder takes follows from the segment
/// before it (and, for devices, whose devices they are).
fn fill(template: &str, ids: &Ids) -> String {
    let segments: Vec<&str> = template.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        if !segment.starts_with('{') {
            out.push((*segment).to_owned());
            continue;
        }
        let before = if i > 0 { segments[i - 1] } else { "" };
        let value = match before {
            "participants" => ids.participant.to_string(),
            "interviews" => ids.interview.to_string(),
            "contact-requests" => ids.contact_request.to_string(),
            "devices" if template.starts_with("/v1/staff/me/") => ids.staff_device.to_string(),
            "devices" => ids.device.to_string(),
            "sessions" => ids.session.to_string(),
            "notifications" if template.starts_with("/v1/staff/me/") => {
                ids.staff_notification.to_string()
            }
            "notifications" => ids.notification.to_string(),
            "teams" => ids.team.to_string(),
            "jobs" => ids.job.to_string(),
            "staff" => ids.staff.to_string(),
            "calendar" => ids.calendar_token.clone(),
            "alerts" => ids.alert.to_string(),
            "webhook-endpoints" => ids.webhook_endpoint.to_string(),
            "deliveries" => ids.webhook_delivery.to_string(),
            _ => panic!("{template}: no id kind for {segment}; teach `fill` about it"),
        };
        out.push(value);
    }
    out.join("/")
}

/// A push token no one else has (registering someone else's token takes that device over).
fn fresh_push_token() -> String {
    (0..4)
        .map(|_| format!("{:016x}", rand::random::<u64>()))
        .collect()
}

fn job_preferences(notes: Option<&str>) -> Value {
    json!({
        "goal": null, "desired_roles": [], "industries": [], "interests": [], "skills": [],
        "experience": null, "hours_per_week_min": null, "hours_per_week_max": null,
        "preferred_times": [], "locations": [], "max_commute_minutes": null, "avoid": [],
        "disclosure": null, "disclosure_notes": null, "notes": notes
    })
}

fn interview(employer: &str) -> Value {
    let start = chrono::Utc::now() + chrono::Duration::days(10);
    json!({
        "employer": employer,
        "role_title": "Butikkmedarbeider",
        "starts_at": start.to_rfc3339(),
        "duration_minutes": 45,
        "address": "Thorvald Meyers gate 1, Oslo",
        "checklist": [{ "text": "Ta med CV" }],
    })
}

/// One participant of the world with their records.
struct Participant {
    id: i64,
    token: String,
    session: i64,
    interview: i64,
    message: i64,
    contact_request: i64,
    device: i64,
    calendar_token: String,
    job: i64,
    contact: i64,
    employer_contact: i64,
}

async fn participant_with_records(app: &TestApp, specialist: &str, name: &str) -> Participant {
    let (id, code) = app.enrol(specialist, name).await;
    let (token, _, session) = session_for(app, &code).await;
    let t = Some(token.as_str());
    let interview = app
        .post(
            "/v1/me/interviews",
            t,
            interview(&format!("{name} Employer")),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let message = app
        .post(
            "/v1/me/messages",
            t,
            json!({ "body": format!("{name} writes") }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let contact_request = app
        .post(
            "/v1/me/contact-requests",
            t,
            json!({ "kind": "call_me", "note": format!("{name} note") }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    app.send(
        Method::PUT,
        "/v1/me/job-preferences",
        t,
        Some(job_preferences(Some(&format!("{name} prefers mornings")))),
    )
    .await
    .ok();
    let device = app
        .post(
            "/v1/me/devices",
            t,
            json!({ "platform": "fcm", "token": fresh_push_token(), "app_version": format!("{name} 1.0"), "locale": "nb-NO" }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let feed = app
        .send(Method::POST, "/v1/me/calendar-feed", t, None)
        .await
        .ok();
    let calendar_token = feed["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/v1/calendar/")
        .to_owned();
    // A job the participant recorded, a contact and an employer contact their specialist logged.
    let today = chrono::Utc::now().date_naive().to_string();
    let job = app
        .post(
            "/v1/me/jobs",
            t,
            json!({ "employer": format!("{name} Employer"), "role_title": "Lager", "hours_per_week": 20, "competitive": true, "start_date": today }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let contact = app
        .post(
            &format!("/v1/participants/{id}/contacts"),
            Some(specialist),
            json!({ "channel": "meeting", "note": format!("{name} contact") }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let employer_contact = app
        .post(
            "/v1/employer-contacts",
            Some(specialist),
            json!({ "participant_id": id, "employer": format!("{name} Employer"), "channel": "phone" }),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    // An enrolment code left outstanding, as after a lost phone.
    app.post(
        &format!("/v1/participants/{id}/enrolment-code"),
        Some(specialist),
        json!({}),
    )
    .await
    .ok();
    Participant {
        id,
        token,
        session,
        interview,
        message,
        contact_request,
        device,
        calendar_token,
        job,
        contact,
        employer_contact,
    }
}

#[derive(diesel::QueryableByName)]
struct NotificationId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Marks every notification sent (the delivering worker is not part of this test) and returns
/// the first one of A's and of A's specialist's.
fn sent_notifications(app: &TestApp, participant: i64, specialist: i64) -> (i64, i64) {
    use diesel::RunQueryDsl;
    let mut conn = app.db.get().unwrap();
    diesel::sql_query("UPDATE notifications SET status = 'sent', sent_at = due_at")
        .execute(&mut *conn)
        .unwrap();
    let first = |conn: &mut ips_core::DbConnection, kind: &str, id: i64| -> i64 {
        let rows: Vec<NotificationId> = diesel::sql_query(format!(
            "SELECT id FROM notifications WHERE recipient_kind = '{kind}' AND recipient_id = {id} ORDER BY id LIMIT 1"
        ))
        .load(conn)
        .unwrap();
        rows.first().map(|r| r.id).expect("a notification")
    };
    (
        first(&mut conn, "participant", participant),
        first(&mut conn, "staff", specialist),
    )
}

/// The first alert about the participant.
fn first_alert_about(app: &TestApp, participant: i64) -> i64 {
    use diesel::RunQueryDsl;
    let mut conn = app.db.get().unwrap();
    let rows: Vec<NotificationId> = diesel::sql_query(format!(
        "SELECT id FROM alerts WHERE participant_id = {participant} ORDER BY id LIMIT 1"
    ))
    .load(&mut *conn)
    .unwrap();
    rows.first().map(|r| r.id).expect("an alert")
}

/// The whole world the matrix runs in.
struct Fixture {
    app: TestApp,
    world: World,
    other_supervisor: String,
    a: Participant,
    b: Participant,
    c: Participant,
    /// A's second device session: the one the session routes aim at.
    a_spare_session: i64,
    specialist_device: i64,
    /// A notification in A's inbox, and one in A's specialist's.
    a_notification: i64,
    specialist_notification: i64,
    /// An alert about A (a waiting contact request), raised by the worker's scan.
    a_alert: i64,
    /// D's outstanding enrolment code and refresh token, for the public routes.
    d_code: String,
    d_refresh: String,
    /// A webhook endpoint and its test ping's delivery, for the administrators' routes.
    webhook_endpoint: i64,
    webhook_delivery: i64,
}

impl Fixture {
    async fn build() -> Fixture {
        let app = TestApp::spawn().await;
        let world = World::build(&app).await;
        let (_, other_supervisor) = app
            .staff_member(
                &world.admin,
                "sup2@example.no",
                "supervisor",
                Some(world.other_team),
            )
            .await;
        let a = participant_with_records(&app, &world.specialist, "Alpha Aasen").await;
        let b = participant_with_records(&app, &world.specialist, "Bravo Berg").await;
        let c = participant_with_records(&app, &world.outsider, "Charlie Carlsen").await;
        let (_, _, a_spare_session) = another_session(&app, &world.specialist, a.id).await;
        // Issued after the spare session's code, so A's latest code stays outstanding.
        app.post(
            &format!("/v1/participants/{}/enrolment-code", a.id),
            Some(&world.specialist),
            json!({}),
        )
        .await
        .ok();
        let (d, d_first_code) = app.enrol(&world.specialist, "Delta Dahl").await;
        let (_, d_refresh, _) = session_for(&app, &d_first_code).await;
        let d_code = app
            .post(
                &format!("/v1/participants/{d}/enrolment-code"),
                Some(&world.specialist),
                json!({}),
            )
            .await
            .ok()["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let specialist_device = app
            .post(
                "/v1/staff/me/devices",
                Some(&world.specialist),
                json!({ "platform": "apns", "token": fresh_push_token(), "app_version": "5.0", "locale": "nb-NO" }),
            )
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        // Something in every inbox: A asks to talk (a notice to the specialist), and every
        // notification written so far is marked sent, as the worker would.
        app.send(
            Method::POST,
            &format!("/v1/me/interviews/{}/need-to-talk", a.interview),
            Some(&a.token),
            None,
        )
        .await
        .ok();
        // The worker's scan raises alerts about the waiting requests of A, B and C.
        ips_worker::scans::AlertScanner::new(app.db.clone(), Default::default())
            .tick(std::time::Duration::from_secs(10))
            .await
            .unwrap();
        let a_alert = first_alert_about(&app, a.id);
        let (a_notification, specialist_notification) =
            sent_notifications(&app, a.id, world.specialist_id);
        let webhook_endpoint = app
            .post(
                "/v1/webhook-endpoints",
                Some(&world.admin),
                json!({ "url": "https://hooks.example.org/matrix", "event_types": ["alert.raised"] }),
            )
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        let webhook_delivery = app
            .post(
                &format!("/v1/webhook-endpoints/{webhook_endpoint}/ping"),
                Some(&world.admin),
                json!({}),
            )
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        Fixture {
            app,
            world,
            other_supervisor,
            a,
            b,
            c,
            a_spare_session,
            specialist_device,
            a_notification,
            specialist_notification,
            a_alert,
            d_code,
            d_refresh,
            webhook_endpoint,
            webhook_delivery,
        }
    }

    fn token(&self, caller: Caller) -> Option<&str> {
        let w = &self.world;
        Some(match caller {
            Caller::Anonymous => return None,
            Caller::A => &self.a.token,
            Caller::B => &self.b.token,
            Caller::C => &self.c.token,
            Caller::Specialist => &w.specialist,
            Caller::Colleague => &w.colleague,
            Caller::Outsider => &w.outsider,
            Caller::Supervisor => &w.supervisor,
            Caller::OtherSupervisor => &self.other_supervisor,
            Caller::Admin => &w.admin,
        })
    }

    /// The victim's ids: A's records, A's team, A's specialist's account and push device.
    fn victim(&self) -> Ids {
        Ids {
            participant: self.a.id,
            interview: self.a.interview,
            message: self.a.message,
            contact_request: self.a.contact_request,
            device: self.a.device,
            session: self.a_spare_session,
            staff_device: self.specialist_device,
            team: self.world.team,
            staff: self.world.specialist_id,
            calendar_token: self.a.calendar_token.clone(),
            notification: self.a_notification,
            staff_notification: self.specialist_notification,
            job: self.a.job,
            alert: self.a_alert,
            webhook_endpoint: self.webhook_endpoint,
            webhook_delivery: self.webhook_delivery,
        }
    }

    /// A's ids with the nested records of `other` (another participant's interview, message,
    /// contact request).
    fn victim_with_records_of(&self, other: &Participant) -> Ids {
        Ids {
            interview: other.interview,
            message: other.message,
            contact_request: other.contact_request,
            job: other.job,
            ..self.victim()
        }
    }

    /// A's ids with nested records that do not exist.
    fn victim_with_no_records(&self) -> Ids {
        let nobody = Ids::nobody();
        Ids {
            interview: nobody.interview,
            message: nobody.message,
            contact_request: nobody.contact_request,
            job: nobody.job,
            ..self.victim()
        }
    }

    fn body(&self, body: Body, ids: &Ids) -> Option<Value> {
        let unique = rand::random::<u32>();
        Some(match body {
            Body::None => return None,
            Body::EmptyObject => json!({}),
            Body::Login => json!({ "email": "admin@example.no", "password": PASSWORD }),
            Body::Enrol => json!({ "code": self.d_code }),
            Body::Refresh => json!({ "refresh_token": self.d_refresh }),
            Body::Password => json!({ "current_password": PASSWORD, "new_password": PASSWORD }),
            Body::Team => json!({ "name": format!("IPS Team {unique}") }),
            Body::TeamPatch => json!({ "phone": "+47 22 11 11 11" }),
            Body::NewStaff => json!({
                "email": format!("new{unique}@example.no"), "name": "New Staff",
                "role": "specialist", "team_id": self.world.team, "password": PASSWORD
            }),
            Body::StaffPatch => json!({ "working_hours": "Mon-Fri 08-16" }),
            Body::Device => json!({
                "platform": "fcm", "token": fresh_push_token(), "app_version": "3.0", "locale": "en"
            }),
            Body::DevicePatch => json!({ "app_version": "3.1" }),
            Body::Enrolment => json!({ "display_name": "Echo Eriksen" }),
            Body::MePatch => json!({ "lock_screen_previews": false }),
            Body::JobPreferences => job_preferences(None),
            Body::Message => json!({ "body": "A message from the matrix" }),
            Body::ReadUpTo => json!({ "up_to_id": ids.message }),
            Body::ContactRequest => json!({ "kind": "benefits_counselling" }),
            Body::HandleContactRequest => json!({ "status": "handled" }),
            Body::Reassign => json!({ "specialist_id": self.world.colleague_id }),
            Body::Interview => interview("Matrix Employer"),
            Body::InterviewPatch => json!({ "notes": "Bring the CV" }),
            Body::Outcome => json!({ "outcome": "waiting" }),
            Body::PlanPatch => json!({ "cadence_days": 10 }),
            Body::StatusStep => json!({ "to": "in_education", "note": "A step from the matrix" }),
            Body::Job => json!({
                "employer": "Matrix Employer", "role_title": "Lager", "hours_per_week": 10,
                "competitive": true, "start_date": chrono::Utc::now().date_naive().to_string(),
            }),
            Body::JobPatch => json!({ "hours_per_week": 25 }),
            Body::JobEnd => {
                json!({ "end_date": chrono::Utc::now().date_naive().to_string(), "reason": "quit" })
            }
            Body::Contact => json!({ "channel": "phone", "note": "A contact from the matrix" }),
            Body::EmployerContact => json!({
                "participant_id": ids.participant, "employer": "Matrix Employer", "channel": "meeting",
            }),
            Body::Snooze => {
                json!({ "until": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339() })
            }
            Body::WebhookEndpoint => json!({
                "url": "https://hooks.example.org/ips", "event_types": ["alert.raised"],
            }),
            Body::WebhookEndpointPatch => json!({ "description": "Dashboard" }),
        })
    }

    async fn call(&self, row: &Row, caller: Caller, ids: &Ids) -> Reply {
        let method = Method::from_bytes(row.method.as_bytes()).unwrap();
        let path = fill(row.path, ids);
        let reply = self
            .app
            .send(method, &path, self.token(caller), self.body(row.body, ids))
            .await;
        assert!(
            !reply.status.is_server_error(),
            "{} {path} as {caller:?}: {} {}",
            row.method,
            reply.status,
            reply.text
        );
        reply
    }

    /// Record ids the caller must never see in a list of `kind`.
    fn foreign_ids(&self, caller: Caller, kind: &str) -> Vec<i64> {
        let a = &self.a;
        let mut ids = match kind {
            _ if caller.may_see_a() => vec![],
            "participants" => vec![a.id],
            "interviews" => vec![a.interview],
            "messages" => vec![a.message],
            "contact-requests" => vec![a.contact_request],
            "devices" => vec![a.device],
            "sessions" => vec![a.session, self.a_spare_session],
            "jobs" => vec![a.job],
            "contacts" => vec![a.contact, a.employer_contact],
            "employer-contacts" => vec![a.employer_contact],
            "alerts" => vec![self.a_alert],
            _ => vec![],
        };
        if kind == "devices" && caller != Caller::Specialist {
            ids.push(self.specialist_device);
        }
        ids
    }
}

/// A cell's refusal: the expected status, and for an id-carrying request the same answer as for
/// ids that do not exist.
async fn assert_refused(
    f: &Fixture,
    row: &Row,
    caller: Caller,
    expect: Expect,
    ids: &Ids,
    nobody: &Ids,
) {
    let status = match expect {
        Expect::Unauthorised => 401,
        Expect::Forbidden => 403,
        Expect::Hidden if row.body == Body::ReadUpTo && row.class.name != CASELOAD.name => 422,
        Expect::Hidden if row.body == Body::EmployerContact => 422,
        Expect::Hidden => 404,
        Expect::Allowed | Expect::NotRun => unreachable!("not a refusal"),
    };
    let real = f.call(row, caller, ids).await;
    assert_eq!(
        real.status.as_u16(),
        status,
        "{} {} ({} route) as {caller:?}: expected {status}, got {}: {}",
        row.method,
        row.path,
        row.class.name,
        real.status,
        real.text
    );
    real.assert_problem(status);
    let carries_ids =
        row.path.contains('{') || row.body == Body::ReadUpTo || row.body == Body::EmployerContact;
    if carries_ids {
        let none = f.call(row, caller, nobody).await;
        assert_eq!(
            (real.status, real.header("content-type"), real.text.as_str()),
            (none.status, none.header("content-type"), none.text.as_str()),
            "{} {} as {caller:?}: the answer for the victim's record differs from the answer for one that does not exist",
            row.method,
            row.path
        );
    }
}

/// A cell that must be reached, without a word about anyone the caller may not see.
async fn assert_allowed(f: &Fixture, row: &Row, caller: Caller) {
    let reply = f.call(row, caller, &f.victim()).await;
    let status = reply.status;
    assert!(
        status.is_success()
            || (status.is_client_error()
                && ![
                    StatusCode::UNAUTHORIZED,
                    StatusCode::FORBIDDEN,
                    StatusCode::NOT_FOUND
                ]
                .contains(&status)),
        "{} {} ({} route) as {caller:?}: expected to be allowed, got {status}: {}",
        row.method,
        row.path,
        row.class.name,
        reply.text
    );
    if caller == Caller::Anonymous {
        // Public routes: the calendar URL is A's own credential.
        return;
    }
    for marker in MARKERS
        .iter()
        .copied()
        .filter(|m| !caller.may_see().contains(m))
    {
        assert!(
            !reply.text.contains(marker),
            "{} {} as {caller:?} shows {marker}'s data: {}",
            row.method,
            row.path,
            reply.text
        );
    }
    if let (Some(items), Some(kind)) = (reply.body["items"].as_array(), row.path.rsplit('/').next())
    {
        let foreign = f.foreign_ids(caller, kind);
        for item in items {
            let id = item["id"].as_i64().unwrap_or_default();
            assert!(
                !foreign.contains(&id),
                "{} {} as {caller:?} lists another's record {id}: {}",
                row.method,
                row.path,
                reply.text
            );
        }
    }
}

/// What A and A's specialist read of A's records (JSON reads only): nothing the attackers do may
/// change it.
async fn snapshot(f: &Fixture) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for caller in [Caller::A, Caller::Specialist] {
        let column = CALLERS.iter().position(|c| *c == caller).unwrap();
        for row in MATRIX.iter().filter(|r| r.method == "GET") {
            // The audit trail and the export grow with every read (an export is stamped and
            // audited), so they cannot be compared before and after.
            let skip = row.path.starts_with("/v1/auth/")
                || row.path.ends_with("/audit-events")
                || row.path == "/v1/me/export";
            if skip || expectations(row.class.grid)[column] != Expect::Allowed {
                continue;
            }
            let reply = f.call(row, caller, &f.victim()).await;
            if reply.header("content-type") == Some("application/json") {
                out.push((format!("{} as {caller:?}", row.path), reply.text));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    let f = Fixture::build().await;
    let rows: Vec<&Row> = served()
        .iter()
        .map(|(m, p)| matrix_row(m, p).unwrap_or_else(|| panic!("{m} {p} is not in the matrix")))
        .collect();
    let (victim, nobody) = (f.victim(), Ids::nobody());
    let before = snapshot(&f).await;

    // First every refusal, so that nothing the allowed callers change hides a leak.
    let mut cells = 0;
    for row in &rows {
        for (caller, expect) in CALLERS.iter().zip(expectations(row.class.grid)) {
            if !matches!(expect, Expect::Allowed | Expect::NotRun) {
                assert_refused(&f, row, *caller, expect, &victim, &nobody).await;
                cells += 1;
            }
        }
    }

    // The nested record must belong to the participant in the path, even for the staff who may
    // reach that participant: A's path with B's (same specialist) or C's (other team) interview,
    // message or contact request is answered as if the record did not exist.
    let foreign_nested = [
        f.victim_with_records_of(&f.b),
        f.victim_with_records_of(&f.c),
    ];
    let no_nested = f.victim_with_no_records();
    for row in rows.iter().filter(|r| {
        r.class.name == CASELOAD.name
            && (r.path.matches('{').count() == 2 || r.body == Body::ReadUpTo)
    }) {
        for caller in [Caller::Specialist, Caller::Supervisor] {
            for ids in &foreign_nested {
                let real = f.call(row, caller, ids).await;
                let none = f.call(row, caller, &no_nested).await;
                assert!(
                    [StatusCode::NOT_FOUND, StatusCode::UNPROCESSABLE_ENTITY]
                        .contains(&real.status),
                    "{} {} as {caller:?} with another participant's record: {} {}",
                    row.method,
                    row.path,
                    real.status,
                    real.text
                );
                assert_eq!(
                    (real.status, real.text.as_str()),
                    (none.status, none.text.as_str()),
                    "{} {} as {caller:?}: another participant's record is answered unlike a missing one",
                    row.method,
                    row.path
                );
                cells += 1;
            }
        }
    }

    assert_eq!(
        before,
        snapshot(&f).await,
        "a refused call changed the victim's records"
    );

    // Then every allowed cell, caller by caller in the table's order (so a record is read and
    // changed before it is deleted), and the deletions last: SQLite gives a deleted row's id to
    // the next new row, which a later list would otherwise show as if it were the deleted one.
    for deleting in [false, true] {
        for (column, caller) in CALLERS.iter().enumerate() {
            for row in rows.iter().filter(|r| (r.method == "DELETE") == deleting) {
                if expectations(row.class.grid)[column] == Expect::Allowed {
                    assert_allowed(&f, row, *caller).await;
                    cells += 1;
                }
            }
        }
    }

    let total = rows.len() * CALLERS.len();
    println!(
        "authorisation matrix: {} routes x {} callers = {total} cells, {cells} checks run",
        rows.len(),
        CALLERS.len()
    );
    assert!(rows.len() > 70 && cells > 500);
}

/// A POST with an `Idempotency-Key`.
async fn post_keyed(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Reply {
    let request = app
        .client
        .request(Method::POST, format!("{}{}", app.address, path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body);
    app.run(request).await
}

/// An `Idempotency-Key` is the caller's own: another caller who sends the same key and body (a
/// guessed or leaked key) creates their own record, and is never handed the first caller's answer.
#[tokio::test]
async fn an_idempotency_key_never_replays_another_callers_answer() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (a, a_code) = app.enrol(&w.specialist, "Alpha Aasen").await;
    let (_, b_code) = app.enrol(&w.specialist, "Bravo Berg").await;
    let (a_token, _, _) = session_for(&app, &a_code).await;
    let (b_token, _, _) = session_for(&app, &b_code).await;
    let cases = [
        (
            "/v1/me/messages".to_owned(),
            json!({ "body": "Same words" }),
            &a_token,
            &b_token,
        ),
        (
            "/v1/me/contact-requests".to_owned(),
            json!({ "kind": "call_me" }),
            &a_token,
            &b_token,
        ),
        (
            format!("/v1/participants/{a}/messages"),
            json!({ "body": "Same words" }),
            &w.specialist,
            &w.supervisor,
        ),
    ];
    for (n, (path, body, first_caller, second_caller)) in cases.into_iter().enumerate() {
        // One key per case: a caller's key names one request only.
        let key = format!("shared-key-{n}");
        let first = post_keyed(&app, &path, first_caller, &key, body.clone()).await;
        assert_eq!(first.status, StatusCode::CREATED, "{path}: {}", first.text);
        let second = post_keyed(&app, &path, second_caller, &key, body).await;
        assert_eq!(
            second.status,
            StatusCode::CREATED,
            "{path}: {}",
            second.text
        );
        assert_eq!(second.header("idempotent-replayed"), None, "{path}");
        assert_ne!(first.body["id"], second.body["id"], "{path}");
        assert!(!second.text.contains("Alpha"), "{path}: {}", second.text);
    }
}
