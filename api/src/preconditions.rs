//! Versioned documents over HTTP: `ETag: "<version>"` on the way out, `If-Match` on the way in,
//! so two editors (a participant's phone and their specialist) cannot overwrite each other unseen;
//! and `If-None-Match`, so a cache revalidates a static asset without downloading it again.

use actix_web::http::header;
use actix_web::HttpRequest;
use ips_core::store::job_preferences::Precondition;

/// The strong entity tag of a version: the number in quotes.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// What the request's `If-Match` requires. No header, or `*`, allows any version. Otherwise
/// only the strong tags it lists match: a weak tag (`W/"3"`) or anything this API did not issue
/// matches nothing (RFC 9110 §13.1.1 compares `If-Match` strongly), so the write fails with 412.
pub fn if_match(req: &HttpRequest) -> Precondition {
    let mut values = req.headers().get_all(header::IF_MATCH).peekable();
    if values.peek().is_none() {
        return Precondition::Any;
    }
    let mut versions = Vec::new();
    for value in values {
        let Ok(text) = value.to_str() else {
            continue;
        };
        for tag in text.split(',').map(str::trim) {
            if tag == "*" {
                return Precondition::Any;
            }
            if let Some(version) = tag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|t| t.parse::<i32>().ok())
            {
                versions.push(version);
            }
        }
    }
    Precondition::OneOf(versions)
}

/// Whether the request's `If-None-Match` names `etag` (or is `*`), so the answer is 304. The
/// comparison is weak (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
pub fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    let wanted = etag.trim_start_matches("W/");
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == wanted)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn with(values: &[&str]) -> Precondition {
        let mut req = TestRequest::default();
        for v in values {
            req = req.append_header((header::IF_MATCH, *v));
        }
        if_match(&req.to_http_request())
    }

    #[test]
    fn if_match_reads_strong_tags() {
        assert_eq!(with(&[]), Precondition::Any);
        assert_eq!(with(&["*"]), Precondition::Any);
        assert_eq!(with(&["\"3\""]), Precondition::OneOf(vec![3]));
        assert_eq!(with(&["\"3\", \"5\""]), Precondition::OneOf(vec![3, 5]));
        assert_eq!(with(&["\"3\"", "\"4\""]), Precondition::OneOf(vec![3, 4]));
        assert_eq!(with(&["W/\"3\""]), Precondition::OneOf(vec![]));
        assert_eq!(with(&["3"]), Precondition::OneOf(vec![]));
        assert_eq!(with(&["\"abc\""]), Precondition::OneOf(vec![]));
        assert_eq!(etag(7), "\"7\"");
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let asks = |values: &[&str]| {
            let mut req = TestRequest::default();
            for v in values {
                req = req.append_header((header::IF_NONE_MATCH, *v));
            }
            if_none_match(&req.to_http_request(), "\"abc\"")
        };
        assert!(!asks(&[]));
        assert!(asks(&["\"abc\""]));
        assert!(asks(&["W/\"abc\""]));
        assert!(asks(&["\"x\", \"abc\""]));
        assert!(asks(&["\"x\"", "\"abc\""]));
        assert!(asks(&["*"]));
        assert!(!asks(&["\"abcd\""]));
        assert!(!asks(&["abc"]));
    }
}
