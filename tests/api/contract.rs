//! The contract and the app agree: every route in the app is in openapi.yaml, and the reverse;
//! the routes the table deprecates are exactly those the file marks `deprecated: true`.

use std::collections::BTreeSet;

use serde_yaml::Value;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn documented() -> BTreeSet<(String, String)> {
    let doc: Value = serde_yaml::from_str(ips_api::OPENAPI_YAML).expect("openapi.yaml is YAML");
    let paths = doc["paths"].as_mapping().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("path key").to_owned();
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("method key");
            if METHODS.contains(&method) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn served() -> BTreeSet<(String, String)> {
    ips_api::routes::table()
        .iter()
        .map(|r| {
            (
                r.method.as_str().to_owned(),
                ips_api::routes::openapi_path(r.path),
            )
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let documented = documented();
    let served = served();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "openapi.yaml describes routes the app does not have: {phantom:?}"
    );
    assert!(served.len() > 20);
}

/// A deprecation is announced twice, in the file (`deprecated: true`) and on the wire (the route
/// table's headers): the two must name the same operations.
#[test]
fn deprecated_routes_are_the_ones_the_file_marks_deprecated() {
    let doc: Value = serde_yaml::from_str(ips_api::OPENAPI_YAML).expect("openapi.yaml is YAML");
    let mut marked = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, op) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("method key");
            if METHODS.contains(&method) && op["deprecated"].as_bool() == Some(true) {
                let path = path.as_str().expect("path key").to_owned();
                marked.insert((method.to_uppercase(), path));
            }
        }
    }
    let deprecated: BTreeSet<(String, String)> = ips_api::routes::table()
        .iter()
        .filter(|r| r.deprecation.is_some())
        .map(|r| {
            (
                r.method.as_str().to_owned(),
                ips_api::routes::openapi_path(r.path),
            )
        })
        .collect();
    assert_eq!(
        deprecated, marked,
        "the route table's deprecations (left) and openapi.yaml's `deprecated: true` (right) differ"
    );
}

#[test]
fn every_error_response_is_documented_as_a_problem() {
    let doc: Value = serde_yaml::from_str(ips_api::OPENAPI_YAML).expect("openapi.yaml is YAML");
    let shared = &doc["components"]["responses"];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, op) in item.as_mapping().expect("path item") {
            if !METHODS.contains(&method.as_str().unwrap_or_default()) {
                continue;
            }
            assert!(
                op["operationId"].as_str().is_some(),
                "{method:?} {path:?} has an operationId"
            );
            let responses = op["responses"].as_mapping().expect("responses");
            assert!(
                responses
                    .keys()
                    .any(|k| k.as_str().is_some_and(|s| s.starts_with('2'))),
                "{method:?} {path:?} has a success"
            );
            for (status, response) in responses {
                let status = status.as_str().expect("status as a string");
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let response = match response["$ref"].as_str() {
                    Some(reference) => &shared[reference.rsplit('/').next().expect("ref name")],
                    None => response,
                };
                let problem = &response["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(
                    problem.as_str(),
                    Some("#/components/schemas/Problem"),
                    "{method:?} {path:?} {status}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} error responses documented");
}

/// Every object the file describes with properties is closed (`additionalProperties: false`), in
/// requests, responses and webhook payloads alike: the API neither accepts nor sends a field the
/// file does not list (README, "Versioning and deprecation"), and the response check in every test
/// can then catch an undocumented field.
#[test]
fn every_described_object_is_closed() {
    fn open_objects(node: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
        match node {
            Value::Mapping(map) => {
                let is_object = map.get("type").and_then(Value::as_str) == Some("object");
                if is_object
                    && map.contains_key("properties")
                    && map.get("additionalProperties") != Some(&Value::Bool(false))
                {
                    out.push(path.join("/"));
                }
                for (key, value) in map {
                    path.push(
                        key.as_str()
                            .map_or_else(|| format!("{key:?}"), str::to_owned),
                    );
                    open_objects(value, path, out);
                    path.pop();
                }
            }
            Value::Sequence(items) => {
                for (i, value) in items.iter().enumerate() {
                    path.push(i.to_string());
                    open_objects(value, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let doc: Value = serde_yaml::from_str(ips_api::OPENAPI_YAML).expect("openapi.yaml is YAML");
    let mut open = Vec::new();
    open_objects(&doc, &mut Vec::new(), &mut open);
    assert!(
        open.is_empty(),
        "objects without additionalProperties: false: {open:#?}"
    );
}
