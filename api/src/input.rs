//! Reading request bodies and queries: JSON only, within the size limit, every field checked.
//!
//! `Body<T>` replaces actix's `Json<T>` so that each failure gets its own clear problem:
//! 415 for another content type, 413 over the limit, 400 for text that is not JSON, and 422
//! naming the field for JSON of the wrong shape or values that fail validation.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::problem::{ApiError, FieldError};
use crate::strict_json::Strict;

/// A validated JSON request body.
pub struct Body<T>(pub T);

impl<T> FromRequest for Body<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = read_json_bytes(req, payload);
        Box::pin(async move { decode(&bytes.await?).map(Body) })
    }
}

/// Reads a JSON request body's bytes: 415 for another content type, 413 over the size limit.
pub fn read_json_bytes(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Pin<Box<dyn Future<Output = Result<web::Bytes, ApiError>>>> {
    let is_json = is_json(req);
    let bytes = web::Bytes::from_request(req, payload);
    Box::pin(async move {
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        bytes.await.map_err(read_error)
    })
}

/// A JSON body that may be left out entirely (an empty POST); when present it is read and
/// checked exactly like [`Body`].
pub struct OptionalBody<T>(pub Option<T>);

impl<T> FromRequest for OptionalBody<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(read_error)?;
            if bytes.is_empty() {
                return Ok(OptionalBody(None));
            }
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            decode(&bytes).map(|v| OptionalBody(Some(v)))
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

fn read_error(e: actix_web::Error) -> ApiError {
    match e.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::PayloadTooLarge,
        _ => ApiError::Malformed("the request body could not be read".into()),
    }
}

/// Parses and validates a JSON body: 400 for text that is not JSON, 422 naming the field otherwise.
pub fn decode<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = parse_json::<T>(bytes)?;
    value
        .validate()
        .map_err(|e| ApiError::Validation(field_errors(&e)))?;
    Ok(value)
}

/// Parses JSON, telling a syntax error (400) from a value of the wrong shape (422, with its path).
///
/// The text is first read as a plain JSON value, so any syntax problem anywhere in the
/// document (including trailing text, or nesting past serde_json's limit of 128) is a 400 before
/// its shape is looked at.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
    serde_path_to_error::deserialize(Strict(&value)).map_err(|err| {
        let path = err.path().to_string();
        let mut field = if path == "." { String::new() } else { path };
        // serde reports a missing field at its parent's path; name the field itself.
        if let Some(missing) = missing_field(err.inner()) {
            field = if field.is_empty() {
                missing
            } else {
                format!("{field}.{missing}")
            };
        }
        ApiError::Validation(vec![FieldError::new(field, data_message(err.inner()))])
    })
}

/// For a field that may be left out but is never `null` (the contract does not make it
/// nullable): `#[serde(default, deserialize_with = "crate::input::not_null")]`. A plain `Option`
/// would read `null` as "left out" and accept it; this makes it a 422 naming the field.
pub fn not_null<'de, T, D>(de: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(de).map(Some)
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::Malformed(format!(
        "the body is not valid JSON: {}",
        strip_position(&err.to_string())
    ))
}

/// serde's message without the "at line 1 column 9" suffix, which adds nothing for a client.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The name in serde's "missing field `name`" message.
fn missing_field(err: &serde_json::Error) -> Option<String> {
    let message = err.to_string();
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn data_message(err: &serde_json::Error) -> String {
    strip_position(&err.to_string()).replace('`', "'")
}

/// Flattens validator's nested errors into `{field, message}` pairs with dotted paths.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| default_message(&e.code));
                    out.push(FieldError::new(path.clone(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

fn default_message(code: &str) -> String {
    match code {
        "length" => "has the wrong length".into(),
        "range" => "is out of range".into(),
        "email" => "must be an e-mail address".into(),
        other => format!("is not valid ({other})"),
    }
}

/// A name must have something other than spaces in it (validator's `length` counts spaces).
pub fn not_blank(text: &str) -> Result<(), validator::ValidationError> {
    if text.trim().is_empty() {
        Err(validator::ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// A validation error with its message, for `Validate` written by hand (rules that span fields or
/// live in `ips-core`).
pub fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> validator::ValidationError {
    validator::ValidationError::new("invalid").with_message(message.into())
}

/// `Ok` when nothing was added to `errors`.
pub fn outcome(errors: ValidationErrors) -> Result<(), ValidationErrors> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Parses a query string into `T`; a bad value is a 422 naming the parameter.
pub fn parse_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    serde_urlencoded::from_str::<T>(req.query_string())
        .map_err(|e| ApiError::invalid("query", &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(rename = "name")]
        _name: String,
    }

    #[test]
    fn syntax_and_shape_errors_differ() {
        assert!(matches!(
            parse_json::<Sample>(b"{"),
            Err(ApiError::Malformed(_))
        ));
        assert!(
            matches!(parse_json::<Sample>(b"{\"name\": 1}"), Err(ApiError::Validation(e)) if e[0].field == "name")
        );
        assert!(
            matches!(parse_json::<Sample>(b"{}"), Err(ApiError::Validation(e)) if e[0].field == "name")
        );
        assert!(matches!(
            parse_json::<Sample>(b"{\"name\":\"a\",\"x\":1}"),
            Err(ApiError::Validation(_))
        ));
        assert!(parse_json::<Sample>(b"{\"name\":\"a\"}").is_ok());
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse_json::<Sample>(deep.as_bytes()),
            Err(ApiError::Malformed(_))
        ));
    }
}
