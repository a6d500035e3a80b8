//! Every response the tests receive is held to openapi.yaml.
//!
//! The file is the contract third-party developers build against, so a test that gets an answer
//! the file does not promise fails, whatever the test itself was checking. For each response:
//! the operation is found by method and path (the same route table the app registers, so a
//! concrete path matches its template exactly as actix matches it); its status must be
//! documented (or covered by a `4XX`-style range or `default`); its Content-Type must be one the
//! file lists for that status, and no body may come where the file documents none; a JSON body
//! must validate against the schema (JSON Schema 2020-12, formats checked); every header the file
//! marks `required` must be present, every documented header that is present must match its
//! schema, and a header the API gives a meaning (`MEANINGFUL_HEADERS`) must not come where the file
//! does not document it; the deprecation headers come exactly with `deprecated: true`. A path or
//! method the file does not describe must be answered with a Problem.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};

/// The parsed file, the route templates, and the schemas compiled so far.
struct Contract {
    doc: Value,
    templates: Vec<Template>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// One route of the app's table: its method, its path split into segments, and the path as
/// openapi.yaml writes it.
struct Template {
    method: String,
    segments: Vec<Segment>,
    openapi_path: String,
}

enum Segment {
    Literal(String),
    /// `{name:\d+}`: one or more ASCII digits.
    Digits,
    /// `{name}`: any non-empty segment.
    Any,
}

impl Template {
    fn new(method: &str, path: &str) -> Self {
        let segments = path
            .trim_start_matches('/')
            .split('/')
            .map(|segment| match segment.strip_prefix('{') {
                None => Segment::Literal(segment.to_owned()),
                Some(param) => match param.split_once(':') {
                    None => Segment::Any,
                    Some((_, "\\d+}")) => Segment::Digits,
                    Some((_, pattern)) => panic!(
                        "the contract check does not know the route pattern {pattern:?} in {path}"
                    ),
                },
            })
            .collect();
        Template {
            method: method.to_owned(),
            segments,
            openapi_path: ips_api::routes::openapi_path(path),
        }
    }

    fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        parts.len() == self.segments.len()
            && self
                .segments
                .iter()
                .zip(&parts)
                .all(|(segment, part)| match segment {
                    Segment::Literal(literal) => literal == part,
                    Segment::Digits => !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()),
                    Segment::Any => !part.is_empty(),
                })
    }
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| Contract {
        doc: serde_yaml::from_str(ips_api::OPENAPI_YAML).expect("openapi.yaml is YAML"),
        templates: ips_api::routes::table()
            .iter()
            .map(|route| Template::new(route.method.as_str(), route.path))
            .collect(),
        validators: Mutex::new(HashMap::new()),
    })
}

/// What the check looks at: one request's method and URL, and the answer.
pub struct Exchange<'a> {
    pub method: &'a Method,
    pub url: &'a Url,
    pub status: StatusCode,
    pub headers: &'a HeaderMap,
    pub text: &'a str,
}

/// Fails the test, naming the request, the answer and every way it breaks the contract.
pub fn assert_conforms(exchange: &Exchange<'_>) {
    let problems = contract().check(exchange);
    assert!(
        problems.is_empty(),
        "the answer breaks openapi.yaml\n  request: {} {}\n  status:  {}\n  content-type: {}\n  \
         mismatches:\n    - {}\n  body: {}",
        exchange.method,
        exchange.url.path(),
        exchange.status,
        exchange
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)"),
        problems.join("\n    - "),
        exchange.text
    );
}

/// Headers that tell a client something about this answer (a version, a new record, a replay,
/// when to retry, how to authenticate, a download's name): where one is sent, the file must say so.
/// Transport headers, `X-Request-Id` (on every answer) and the deprecation headers (on every answer
/// of an operation marked `deprecated: true`; see [`check_deprecation`]) are said once in
/// the file, not per response.
const MEANINGFUL_HEADERS: &[&str] = &[
    "etag",
    "location",
    "idempotent-replayed",
    "retry-after",
    "www-authenticate",
    "content-disposition",
];

/// Every answer of an operation marked `deprecated: true` announces it (`Deprecation`, `Sunset`,
/// `Link; rel="deprecation"`), and no other operation's answer does.
fn check_deprecation(exchange: &Exchange<'_>, operation: &Value) -> Vec<String> {
    let deprecated = operation["deprecated"] == json!(true);
    let links_to_notes = exchange
        .headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("rel=\"deprecation\""));
    let sent = [
        ("Deprecation", exchange.headers.contains_key("deprecation")),
        ("Sunset", exchange.headers.contains_key("sunset")),
        ("Link rel=\"deprecation\"", links_to_notes),
    ];
    sent.into_iter()
        .filter(|(_, present)| *present != deprecated)
        .map(|(name, _)| match deprecated {
            true => format!("the operation is deprecated, but the answer has no {name}"),
            false => {
                format!("{name} came, but openapi.yaml does not mark the operation deprecated")
            }
        })
        .collect()
}

/// A media type without its parameters, in lower case: `Text/Plain; charset=x` -> `text/plain`.
fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media_type: &str) -> bool {
    let essence = essence(media_type);
    essence == "application/json" || essence.ends_with("+json")
}

impl Contract {
    fn check(&self, exchange: &Exchange<'_>) -> Vec<String> {
        let path = exchange.url.path();
        let Some(template) = self.templates.iter().find(|t| t.matches(path)) else {
            return self.check_undocumented(exchange, "no path in openapi.yaml matches");
        };
        // actix answers a path with the first resource that matches it, whatever the method.
        let method = exchange.method.as_str().to_ascii_lowercase();
        let same_path = |t: &&Template| t.openapi_path == template.openapi_path;
        if !self
            .templates
            .iter()
            .filter(same_path)
            .any(|t| t.method.eq_ignore_ascii_case(&method))
        {
            return self.check_undocumented(exchange, "openapi.yaml has no such method here");
        }
        let operation = &self.doc["paths"][&template.openapi_path][&method];
        if !operation.is_object() {
            return vec![format!(
                "openapi.yaml does not describe {} {}",
                method.to_uppercase(),
                template.openapi_path
            )];
        }
        let responses = &operation["responses"];
        let status = exchange.status.as_u16().to_string();
        let range = format!("{}XX", &status[..1]);
        let documented = [status.as_str(), range.as_str(), "default"]
            .into_iter()
            .find_map(|key| responses.get(key));
        let Some(response) = documented else {
            let listed: Vec<&str> = responses
                .as_object()
                .map(|r| r.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return vec![format!(
                "status {status} is not documented for {} {} (documented: {})",
                method.to_uppercase(),
                template.openapi_path,
                listed.join(", ")
            )];
        };
        let response = self.resolve(response);
        let mut problems = self.check_body(exchange, response);
        problems.extend(self.check_headers(exchange, response));
        problems.extend(check_deprecation(exchange, operation));
        problems
    }

    /// An answer to a path or method the file does not describe must still be a Problem.
    fn check_undocumented(&self, exchange: &Exchange<'_>, why: &str) -> Vec<String> {
        let problem = json!({
            "content": {
                "application/problem+json": {
                    "schema": { "$ref": "#/components/schemas/Problem" }
                }
            }
        });
        let mut problems = self.check_body(exchange, &problem);
        if !exchange.status.is_client_error() {
            problems.push(format!(
                "{why}, so only a 4xx Problem may answer, not {}",
                exchange.status
            ));
        }
        problems
    }

    /// Follows a local `$ref` (`#/components/...`) to what it names.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local references are supported: {reference}"));
            value = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("openapi.yaml has nothing at {reference}"));
        }
        value
    }

    fn check_body(&self, exchange: &Exchange<'_>, response: &Value) -> Vec<String> {
        let content_type = exchange
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return if exchange.text.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "openapi.yaml documents no body for this status, but one came ({})",
                    content_type.unwrap_or("no content-type")
                )]
            };
        };
        let Some(content_type) = content_type else {
            return vec![format!(
                "no Content-Type; openapi.yaml documents {}",
                content.keys().cloned().collect::<Vec<_>>().join(", ")
            )];
        };
        let Some((_, media)) = content
            .iter()
            .find(|(documented, _)| essence(documented) == essence(content_type))
        else {
            return vec![format!(
                "Content-Type {content_type} is not documented for this status (documented: {})",
                content.keys().cloned().collect::<Vec<_>>().join(", ")
            )];
        };
        if !is_json(content_type) {
            return Vec::new();
        }
        let body: Value = match serde_json::from_str(exchange.text) {
            Ok(body) => body,
            Err(e) => return vec![format!("the body is not JSON: {e}")],
        };
        match media.get("schema") {
            Some(schema) => self.validate(schema, &body),
            None => Vec::new(),
        }
    }

    fn check_headers(&self, exchange: &Exchange<'_>, response: &Value) -> Vec<String> {
        let empty = serde_json::Map::new();
        let headers = response
            .get("headers")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut problems: Vec<String> = MEANINGFUL_HEADERS
            .iter()
            .filter(|name| exchange.headers.contains_key(**name))
            .filter(|name| !headers.keys().any(|h| h.eq_ignore_ascii_case(name)))
            .map(|name| {
                format!("the header {name} came, but openapi.yaml does not document it here")
            })
            .collect();
        for (name, header) in headers {
            // OpenAPI: a Content-Type header definition is ignored (the content map says it).
            if name.eq_ignore_ascii_case("content-type") {
                continue;
            }
            let header = self.resolve(header);
            let values: Vec<&str> = exchange
                .headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if values.is_empty() {
                if header["required"] == json!(true) {
                    problems.push(format!("the required header {name} is missing"));
                }
                continue;
            }
            let Some(schema) = header.get("schema") else {
                continue;
            };
            for value in values {
                // Header values are text; a schema that wants a number gets the number.
                let instance = match schema["type"].as_str() {
                    Some("integer") | Some("number") => serde_json::from_str(value)
                        .unwrap_or_else(|_| Value::String(value.to_owned())),
                    _ => Value::String(value.to_owned()),
                };
                problems.extend(
                    self.validate(schema, &instance)
                        .into_iter()
                        .map(|e| format!("header {name}: {value:?}: {e}")),
                );
            }
        }
        problems
    }

    /// Validates `instance` against `schema` (a schema from the file, whose `$ref`s point into
    /// `#/components`), compiling each distinct schema once.
    fn validate(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let validator = self.validator(schema);
        validator
            .iter_errors(instance)
            .map(|error| {
                let at = error.instance_path().to_string();
                format!("at {}: {error}", if at.is_empty() { "/" } else { &at })
            })
            .collect()
    }

    fn validator(&self, schema: &Value) -> Arc<jsonschema::Validator> {
        let key = schema.to_string();
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(key)
            .or_insert_with(|| {
                // The schema is wrapped in a document that carries the file's components, so a
                // `$ref: '#/components/schemas/X'` resolves within the same root.
                let document = json!({
                    "allOf": [schema],
                    "components": self.doc["components"],
                });
                let validator = jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&document)
                    .unwrap_or_else(|e| panic!("openapi.yaml has a schema that compiles: {e}"));
                Arc::new(validator)
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange_check(
        method: Method,
        path: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Vec<String> {
        let url = Url::parse(&format!("http://127.0.0.1{path}")).unwrap();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        contract().check(&Exchange {
            method: &method,
            url: &url,
            status: StatusCode::from_u16(status).unwrap(),
            headers: &map,
            text: body,
        })
    }

    const JSON: (&str, &str) = ("content-type", "application/json");
    const PROBLEM: (&str, &str) = ("content-type", "application/problem+json");

    #[test]
    fn a_conforming_answer_passes() {
        let live = exchange_check(
            Method::GET,
            "/health/live",
            200,
            &[JSON],
            r#"{"status":"ok"}"#,
        );
        assert_eq!(live, Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_mismatch_is_named() {
        let undocumented_status = exchange_check(
            Method::GET,
            "/health/live",
            418,
            &[JSON],
            r#"{"status":"ok"}"#,
        );
        assert!(undocumented_status[0].contains("status 418 is not documented"));

        let wrong_type = exchange_check(
            Method::GET,
            "/health/live",
            200,
            &[("content-type", "text/html")],
            "<p>ok</p>",
        );
        assert!(wrong_type[0].contains("Content-Type text/html is not documented"));

        let extra_field = exchange_check(
            Method::GET,
            "/health/live",
            200,
            &[JSON],
            r#"{"status":"ok","uptime":3}"#,
        );
        assert!(
            extra_field.iter().any(|e| e.contains("uptime")),
            "{extra_field:?}"
        );

        let body_where_none = exchange_check(Method::POST, "/v1/auth/logout", 204, &[JSON], "{}");
        assert!(body_where_none[0].contains("documents no body"));

        let missing_header = exchange_check(
            Method::POST,
            "/v1/auth/logout",
            401,
            &[PROBLEM],
            r#"{"type":"urn:ips:problem:unauthenticated","title":"t","status":401,"detail":"d"}"#,
        );
        assert!(
            missing_header
                .iter()
                .any(|e| e.contains("WWW-Authenticate")),
            "{missing_header:?}"
        );
    }

    #[test]
    fn formats_are_checked() {
        let ready = |database: &str| {
            exchange_check(
                Method::GET,
                "/health/ready",
                200,
                &[JSON],
                &format!(r#"{{"status":"ok","database":"{database}"}}"#),
            )
        };
        assert_eq!(ready("ok"), Vec::<String>::new());
        let team = |created_at: &str| {
            exchange_check(
                Method::GET,
                "/v1/teams/1",
                200,
                &[JSON],
                &json!({
                    "id": 1, "name": "IPS Oslo", "phone": null, "email": null,
                    "created_at": created_at, "updated_at": "2026-03-02T10:00:00Z"
                })
                .to_string(),
            )
        };
        assert_eq!(team("2026-03-02T10:00:00.123456Z"), Vec::<String>::new());
        assert!(
            team("yesterday").iter().any(|e| e.contains("date-time")),
            "{:?}",
            team("yesterday")
        );
    }

    #[test]
    fn undocumented_meaningful_headers_are_named() {
        let live = exchange_check(
            Method::GET,
            "/health/live",
            200,
            &[JSON, ("etag", "\"1\"")],
            r#"{"status":"ok"}"#,
        );
        assert!(live.iter().any(|e| e.contains("etag")), "{live:?}");
    }

    #[test]
    fn deprecation_headers_come_exactly_with_deprecated_operations() {
        let live = exchange_check(
            Method::GET,
            "/health/live",
            200,
            &[JSON, ("deprecation", "@1799971200")],
            r#"{"status":"ok"}"#,
        );
        assert!(
            live.iter()
                .any(|e| e.contains("not mark the operation deprecated")),
            "{live:?}"
        );

        let url = Url::parse("http://127.0.0.1/v1/old").unwrap();
        let deprecated = json!({ "deprecated": true });
        let announced = |links: &[&str]| {
            let mut headers = HeaderMap::new();
            headers.insert("deprecation", "@1799971200".parse().unwrap());
            headers.insert("sunset", "Thu, 15 Jul 2027 00:00:00 GMT".parse().unwrap());
            for link in links {
                headers.append(reqwest::header::LINK, link.parse().unwrap());
            }
            let exchange = Exchange {
                method: &Method::GET,
                url: &url,
                status: StatusCode::OK,
                headers: &headers,
                text: "",
            };
            check_deprecation(&exchange, &deprecated)
        };
        assert_eq!(announced(&[]).len(), 1, "{:?}", announced(&[]));
        assert!(announced(&["<https://ips.example.no/changes>; rel=\"deprecation\""]).is_empty());
    }

    #[test]
    fn unknown_paths_and_methods_must_be_problems() {
        let problem =
            r#"{"type":"urn:ips:problem:not-found","title":"Not found","status":404,"detail":"d"}"#;
        assert!(exchange_check(Method::GET, "/v1/nothing", 404, &[PROBLEM], problem).is_empty());
        assert!(exchange_check(Method::GET, "/v1/teams/x", 404, &[PROBLEM], problem).is_empty());
        assert!(!exchange_check(
            Method::GET,
            "/v1/nothing",
            404,
            &[("content-type", "text/plain")],
            "nope"
        )
        .is_empty());
        assert!(!exchange_check(Method::PUT, "/v1/teams", 200, &[PROBLEM], problem).is_empty());
    }

    #[test]
    fn concrete_paths_find_their_templates() {
        let template = |path: &str| {
            contract()
                .templates
                .iter()
                .find(|t| t.matches(path))
                .map(|t| t.openapi_path.clone())
        };
        assert_eq!(
            template("/v1/participants/3/jobs/12").as_deref(),
            Some("/v1/participants/{id}/jobs/{job_id}")
        );
        assert_eq!(template("/v1/staff/me").as_deref(), Some("/v1/staff/me"));
        assert_eq!(template("/v1/staff/7").as_deref(), Some("/v1/staff/{id}"));
        assert_eq!(
            template("/v1/calendar/ipsc_abc").as_deref(),
            Some("/v1/calendar/{token}")
        );
        assert_eq!(template("/v1/teams/"), None);
        assert_eq!(template("/v1/teams/x"), None);
    }
}
