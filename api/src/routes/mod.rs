//! The route table: every route the API answers, in one list.
//!
//! The same list registers the routes and is what the contract test compares with
//! `openapi.yaml`, so a route cannot exist without the file knowing, or the reverse.

mod alerts;
mod asker;
mod auth;
mod calendar;
mod caseload;
mod caseload_access;
mod contact_requests;
mod contacts;
mod devices;
mod docs;
mod export;
mod follow_up;
mod health;
mod interviews;
mod job_preferences;
mod jobs;
mod me;
mod messages;
mod notifications;
mod participants;
mod reports;
mod staff;
mod teams;
mod views;
mod webhooks;

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse, Route};

use crate::deprecation::{self, Deprecation};
use crate::problem::ApiError;

/// One route: its method, its path pattern (ids constrained to digits), its handler, and, once it
/// is on its way out, its deprecation (announced on every answer; see `crate::deprecation`).
pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub deprecation: Option<Deprecation>,
    route: Route,
}

/// `GET "/v1/x" => handler` registers a route; a deprecated one is written
/// `GET "/v1/x" => handler [Deprecation { since: "2027-01-15", sunset: "2027-07-15", link: "https://..." }]`
/// and is also marked `deprecated: true` in openapi.yaml.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path $([$deprecation:expr])?),+ $(,)?) => {
        vec![$(RouteDef {
            method: Method::$method,
            path: $path,
            deprecation: None $(.or(Some($deprecation)))?,
            route: web::route().method(Method::$method).to($handler),
        }),+]
    };
}

pub fn table() -> Vec<RouteDef> {
    routes![
        GET "/health/live" => health::live,
        GET "/health/ready" => health::ready,
        GET "/metrics" => health::metrics,
        GET "/openapi.yaml" => health::openapi,
        GET "/docs" => docs::page_html,
        GET "/docs/redoc.standalone.js" => docs::redoc_js,

        POST "/v1/auth/login" => auth::login,
        POST "/v1/auth/enrol" => auth::enrol,
        POST "/v1/auth/refresh" => auth::refresh,
        POST "/v1/auth/logout" => auth::logout,
        POST "/v1/auth/password" => auth::change_password,
        GET "/v1/auth/sessions" => auth::list_sessions,
        DELETE "/v1/auth/sessions/{id:\\d+}" => auth::revoke_session,

        GET "/v1/teams" => teams::list,
        POST "/v1/teams" => teams::create,
        GET "/v1/teams/{id:\\d+}" => teams::get,
        PATCH "/v1/teams/{id:\\d+}" => teams::update,

        GET "/v1/staff" => staff::list,
        POST "/v1/staff" => staff::create,
        GET "/v1/staff/me" => staff::me,
        POST "/v1/staff/me/devices" => devices::register_staff,
        GET "/v1/staff/me/devices" => devices::list_staff,
        GET "/v1/staff/me/devices/{id:\\d+}" => devices::get_staff,
        GET "/v1/staff/me/notifications" => notifications::list_staff,
        POST "/v1/staff/me/notifications/read-all" => notifications::read_all_staff,
        GET "/v1/staff/me/notifications/unread" => notifications::unread_staff,
        POST "/v1/staff/me/notifications/{id:\\d+}/read" => notifications::read_staff,
        DELETE "/v1/staff/me/devices/{id:\\d+}" => devices::delete_staff,
        GET "/v1/staff/{id:\\d+}" => staff::get,
        PATCH "/v1/staff/{id:\\d+}" => staff::update,

        GET "/v1/participants" => participants::list,
        POST "/v1/participants" => participants::enrol,
        GET "/v1/participants/{id:\\d+}" => participants::get,
        POST "/v1/participants/{id:\\d+}/enrolment-code" => participants::reissue_code,
        GET "/v1/participants/{id:\\d+}/audit-events" => participants::audit_events,
        GET "/v1/participants/{id:\\d+}/job-preferences" => job_preferences::get_for,
        PUT "/v1/participants/{id:\\d+}/job-preferences" => job_preferences::put_for,
        GET "/v1/participants/{id:\\d+}/job-preferences/history" => job_preferences::history,

        GET "/v1/me" => me::get,
        PATCH "/v1/me" => me::update,
        GET "/v1/me/job-preferences" => job_preferences::get_mine,
        PUT "/v1/me/job-preferences" => job_preferences::put_mine,
        POST "/v1/me/withdraw" => me::withdraw,
        GET "/v1/me/export" => export::export_mine,
        GET "/v1/me/notifications" => notifications::list_mine,
        POST "/v1/me/notifications/read-all" => notifications::read_all_mine,
        GET "/v1/me/notifications/unread" => notifications::unread_mine,
        POST "/v1/me/notifications/{id:\\d+}/read" => notifications::read_mine,
        POST "/v1/me/devices" => devices::register_mine,
        GET "/v1/me/devices" => devices::list_mine,
        GET "/v1/me/devices/{id:\\d+}" => devices::get_mine,
        PATCH "/v1/me/devices/{id:\\d+}" => devices::update_mine,
        DELETE "/v1/me/devices/{id:\\d+}" => devices::delete_mine,
        GET "/v1/participants/{id:\\d+}/messages" => messages::list_for_participant,
        POST "/v1/participants/{id:\\d+}/messages" => messages::send_to_participant,
        POST "/v1/participants/{id:\\d+}/messages/read" => messages::mark_read_for_participant,
        GET "/v1/participants/{id:\\d+}/messages/unread" => messages::unread_for_participant,
        GET "/v1/participants/{id:\\d+}/contact-requests" => contact_requests::list_for_participant,
        PATCH "/v1/participants/{id:\\d+}/contact-requests/{request_id:\\d+}" => contact_requests::update_for_participant,

        GET "/v1/me/team" => me::team,
        GET "/v1/me/messages" => messages::list_mine,
        POST "/v1/me/messages" => messages::send_mine,
        POST "/v1/me/messages/read" => messages::mark_mine_read,
        GET "/v1/me/messages/unread" => messages::unread_mine,
        GET "/v1/me/contact-requests" => contact_requests::list_mine,
        POST "/v1/me/contact-requests" => contact_requests::create_mine,
        GET "/v1/me/interviews" => interviews::me_list,
        POST "/v1/me/interviews" => interviews::me_create,
        GET "/v1/me/interviews/{id:\\d+}" => interviews::me_get,
        PATCH "/v1/me/interviews/{id:\\d+}" => interviews::me_update,
        POST "/v1/me/interviews/{id:\\d+}/confirm" => interviews::me_confirm,
        POST "/v1/me/interviews/{id:\\d+}/cancel" => interviews::me_cancel,
        POST "/v1/me/interviews/{id:\\d+}/outcome" => interviews::me_outcome,
        POST "/v1/me/interviews/{id:\\d+}/need-to-talk" => interviews::me_need_to_talk,
        GET "/v1/me/interviews/{id:\\d+}/ics" => interviews::me_ics,
        POST "/v1/me/calendar-feed" => calendar::create,
        DELETE "/v1/me/calendar-feed" => calendar::revoke,
        GET "/v1/calendar/{token}" => calendar::feed,

        GET "/v1/participants/{id:\\d+}/interviews" => interviews::staff_list,
        POST "/v1/participants/{id:\\d+}/interviews" => interviews::staff_create,
        GET "/v1/participants/{id:\\d+}/interviews/{interview_id:\\d+}" => interviews::staff_get,
        PATCH "/v1/participants/{id:\\d+}/interviews/{interview_id:\\d+}" => interviews::staff_update,
        POST "/v1/participants/{id:\\d+}/interviews/{interview_id:\\d+}/cancel" => interviews::staff_cancel,
        POST "/v1/participants/{id:\\d+}/interviews/{interview_id:\\d+}/outcome" => interviews::staff_outcome,

        // Follow-up without end (docs/follow-up.md): the plan, the case's status, jobs, the contact log.
        GET "/v1/participants/{id:\\d+}/follow-up-plan" => follow_up::get_plan,
        PATCH "/v1/participants/{id:\\d+}/follow-up-plan" => follow_up::patch_plan,
        POST "/v1/participants/{id:\\d+}/status" => follow_up::change_status,
        GET "/v1/participants/{id:\\d+}/status-history" => follow_up::status_history,
        GET "/v1/participants/{id:\\d+}/jobs" => jobs::staff_list,
        POST "/v1/participants/{id:\\d+}/jobs" => jobs::staff_create,
        GET "/v1/participants/{id:\\d+}/jobs/{job_id:\\d+}" => jobs::staff_get,
        PATCH "/v1/participants/{id:\\d+}/jobs/{job_id:\\d+}" => jobs::staff_update,
        POST "/v1/participants/{id:\\d+}/jobs/{job_id:\\d+}/end" => jobs::staff_end,
        GET "/v1/participants/{id:\\d+}/contacts" => contacts::list_for_participant,
        POST "/v1/participants/{id:\\d+}/contacts" => contacts::log_for_participant,
        GET "/v1/employer-contacts" => contacts::list_employer,
        POST "/v1/employer-contacts" => contacts::log_employer,
        GET "/v1/me/follow-up" => follow_up::get_mine,
        GET "/v1/me/jobs" => jobs::me_list,
        POST "/v1/me/jobs" => jobs::me_create,
        POST "/v1/me/jobs/{id:\\d+}/end" => jobs::me_end,
        GET "/v1/caseload" => caseload::view,
        GET "/v1/caseload/specialists" => caseload::specialists,
        POST "/v1/participants/{id:\\d+}/reassign" => caseload::reassign,
        GET "/v1/teams/{id:\\d+}/report" => reports::team_report,
        GET "/v1/alerts" => alerts::list,
        GET "/v1/alerts/{id:\\d+}" => alerts::get,
        POST "/v1/alerts/{id:\\d+}/acknowledge" => alerts::acknowledge,
        POST "/v1/alerts/{id:\\d+}/snooze" => alerts::snooze,
        POST "/v1/alerts/{id:\\d+}/resolve" => alerts::resolve,

        // Webhooks for integrations (README, "Webhooks"): administrators only.
        GET "/v1/webhook-endpoints" => webhooks::list,
        POST "/v1/webhook-endpoints" => webhooks::create,
        GET "/v1/webhook-endpoints/{id:\\d+}" => webhooks::get,
        PATCH "/v1/webhook-endpoints/{id:\\d+}" => webhooks::update,
        DELETE "/v1/webhook-endpoints/{id:\\d+}" => webhooks::delete,
        POST "/v1/webhook-endpoints/{id:\\d+}/rotate-secret" => webhooks::rotate_secret,
        POST "/v1/webhook-endpoints/{id:\\d+}/ping" => webhooks::ping,
        GET "/v1/webhook-endpoints/{id:\\d+}/deliveries" => webhooks::deliveries,
        POST "/v1/webhook-endpoints/{id:\\d+}/deliveries/{delivery_id:\\d+}/redeliver" => webhooks::redeliver,
    ]
}

/// The path as OpenAPI writes it: `{id:\d+}` becomes `{id}`.
pub fn openapi_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push(c);
            }
            ':' if in_param => skipping = true,
            '}' if in_param => {
                in_param = false;
                skipping = false;
                out.push(c);
            }
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

/// Registers every route; each path answers 405 (with `Allow`) to methods it does not have.
///
/// The routes under each `/v1/<first segment>` share one scope. actix tries resources in order
/// and matches a path with parameters by a regular expression, so with one flat list a request
/// paid for every parameterised path registered before its own; a scope is matched by its
/// static prefix first, so a request tries only the paths of its own scope. The patterns seen by
/// logs and metrics are the full paths, as before.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scopes: Vec<(Option<&'static str>, Vec<PathRoutes>)> = Vec::new();
    for def in table() {
        let prefix = scope_of(def.path);
        let i = match scopes.iter().position(|(p, _)| *p == prefix) {
            Some(i) => i,
            None => {
                scopes.push((prefix, Vec::new()));
                scopes.len() - 1
            }
        };
        let paths = &mut scopes[i].1;
        match paths.iter().position(|(p, _)| *p == def.path) {
            Some(j) => paths[j].1.push(def),
            None => paths.push((def.path, vec![def])),
        }
    }
    for (prefix, paths) in scopes {
        match prefix {
            Some(prefix) => {
                let mut scope = web::scope(prefix);
                for (path, defs) in paths {
                    scope = scope.service(resource(&path[prefix.len()..], defs));
                }
                cfg.service(scope);
            }
            None => {
                for (path, defs) in paths {
                    cfg.service(resource(path, defs));
                }
            }
        }
    }
}

/// One path and its routes, one per method.
type PathRoutes = (&'static str, Vec<RouteDef>);

/// The scope a route is registered in: `/v1/<first segment>` when that segment is a fixed word.
fn scope_of(path: &'static str) -> Option<&'static str> {
    let rest = path.strip_prefix("/v1/")?;
    let end = rest.find('/').unwrap_or(rest.len());
    let segment = &rest[..end];
    (!segment.is_empty() && !segment.contains('{')).then(|| &path[.."/v1/".len() + end])
}

/// One path's resource: its routes, and a 405 with `Allow` for every other method.
fn resource(path: &str, defs: Vec<RouteDef>) -> actix_web::Resource {
    let allow = defs
        .iter()
        .map(|d| d.method.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut resource = web::resource(path).default_service(web::to(move |_req: HttpRequest| {
        let allow = allow.clone();
        async move {
            let mut res = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, value);
            }
            Ok::<HttpResponse, actix_web::Error>(res)
        }
    }));
    for def in defs {
        let route = match def.deprecation {
            Some(deprecation) => {
                let headers = deprecation.headers().unwrap_or_else(|why| {
                    panic!(
                        "the deprecation of {} {} is wrong: {why}",
                        def.method, def.path
                    )
                });
                deprecation::announce(def.route, headers)
            }
            None => def.route,
        };
        resource = resource.route(route);
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deprecation_in_the_table_is_well_formed() {
        for def in table() {
            if let Some(deprecation) = def.deprecation {
                if let Err(why) = deprecation.headers() {
                    panic!("{} {}: {why}", def.method, def.path);
                }
            }
        }
    }

    #[test]
    fn scopes_are_fixed_first_segments() {
        assert_eq!(scope_of("/v1/me"), Some("/v1/me"));
        assert_eq!(scope_of("/v1/me/interviews"), Some("/v1/me"));
        assert_eq!(scope_of("/v1/teams/{id:\\d+}"), Some("/v1/teams"));
        assert_eq!(scope_of("/v1/{id}/x"), None);
        assert_eq!(scope_of("/health/live"), None);
    }

    #[test]
    fn openapi_paths_drop_patterns() {
        assert_eq!(openapi_path("/v1/teams/{id:\\d+}"), "/v1/teams/{id}");
        assert_eq!(openapi_path("/v1/me"), "/v1/me");
    }
}
