//! A field the contract does not know is refused, never ignored: a typo in a field's name must
//! not silently save nothing. Every request body in openapi.yaml says `additionalProperties:
//! false`, and every one of them, sent with one extra field, is a 422 naming that field.

use reqwest::Method;
use serde_json::json;
use serde_yaml::Value;

use crate::helpers::{Reply, TestApp, World};

/// Every operation with a JSON request body: (method, path template, the operation as written).
pub(crate) fn operations_with_bodies() -> Vec<(Method, String, Value)> {
    let doc: Value = serde_yaml::from_str(ips_api::OPENAPI_YAML).expect("openapi.yaml is YAML");
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, op) in item.as_mapping().expect("path item") {
            if body_schema(op).is_mapping() {
                let method =
                    Method::from_bytes(method.as_str().expect("method").to_uppercase().as_bytes())
                        .expect("a method");
                out.push((method, path.as_str().expect("path").to_owned(), op.clone()));
            }
        }
    }
    out
}

/// An operation's JSON request body schema (`Null` when it takes none).
pub(crate) fn body_schema(op: &Value) -> &Value {
    &op["requestBody"]["content"]["application/json"]["schema"]
}

/// The schema a `$ref: '#/components/schemas/X'` names.
pub(crate) fn resolve(schema: &Value) -> Value {
    let doc: Value = serde_yaml::from_str(ips_api::OPENAPI_YAML).expect("openapi.yaml is YAML");
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().expect("a name");
            doc["components"]["schemas"][name].clone()
        }
        None => schema.clone(),
    }
}

#[test]
fn every_request_body_in_the_file_is_closed() {
    let open: Vec<String> = operations_with_bodies()
        .into_iter()
        .filter(|(_, _, op)| resolve(body_schema(op))["additionalProperties"] != Value::Bool(false))
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    assert!(
        open.is_empty(),
        "request bodies that do not say additionalProperties: false: {open:?}"
    );
}

#[tokio::test]
async fn an_unknown_field_in_any_body_is_a_422_naming_it() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (participant, me) = app.participant(&w.specialist, "Ola").await;
    let operations = operations_with_bodies();
    assert!(
        operations.len() > 30,
        "only {} bodies found",
        operations.len()
    );
    for (method, template, _) in operations {
        // Ids that exist, though the body is refused before any record is looked at.
        let path = template
            .replace("{id}", &participant.to_string())
            .replace("{job_id}", "1")
            .replace("{interview_id}", "1")
            .replace("{request_id}", "1");
        let callers: Vec<Option<&str>> = if path.starts_with("/v1/me") {
            vec![Some(me.as_str())]
        } else if ["/v1/auth/login", "/v1/auth/enrol", "/v1/auth/refresh"].contains(&path.as_str())
        {
            vec![None]
        } else {
            vec![
                Some(w.admin.as_str()),
                Some(w.supervisor.as_str()),
                Some(w.specialist.as_str()),
            ]
        };
        let body = json!({ "colour": "red" });
        // The first caller whose role may use the route gets the 422.
        let mut answer: Option<Reply> = None;
        for caller in callers {
            let reply = app
                .send(method.clone(), &path, caller, Some(body.clone()))
                .await;
            let forbidden = reply.status == 403;
            answer = Some(reply);
            if !forbidden {
                break;
            }
        }
        let reply = answer.expect("an answer");
        assert_eq!(
            reply.status, 422,
            "{method} {template} with an unknown field: {}",
            reply.text
        );
        assert_eq!(
            reply.invalid_fields(),
            vec!["colour"],
            "{method} {template}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn an_unknown_field_inside_an_object_is_named_by_its_path() {
    let app = TestApp::spawn().await;
    let w = World::build(&app).await;
    let (_, me) = app.participant(&w.specialist, "Kari").await;
    let reply = app
        .patch(
            "/v1/me",
            &me,
            json!({ "quiet_hours": { "start": "23:15", "end": "06:45", "colour": "red" } }),
        )
        .await;
    assert_eq!(reply.invalid_fields(), vec!["quiet_hours.colour"]);
    let unchanged = app.get("/v1/me", &me).await.ok();
    assert_ne!(unchanged["settings"]["quiet_hours"]["start"], "23:15");
}
