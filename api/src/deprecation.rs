//! Announcing a deprecated operation on every answer it gives.
//!
//! An operation that will be removed in the next major version is marked in the route table
//! (`routes/mod.rs`) with a [`Deprecation`], and `deprecated: true` in openapi.yaml (a test holds
//! the two together). Every response of such an operation, errors included, then carries
//! `Deprecation: @<unix seconds>` (RFC 9745), `Sunset: <HTTP-date>` (RFC 8594) and
//! `Link: <notes>; rel="deprecation"`, so a client learns of it from its own traffic.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, LINK};
use actix_web::middleware::{from_fn, Next};
use actix_web::{Error, Route};
use chrono::NaiveDate;

/// The shortest time between an operation's deprecation and its sunset: six months (README,
/// "Versioning and deprecation").
pub const MINIMUM_NOTICE_MONTHS: u32 = 6;

/// When an operation was deprecated, when it may be removed, and where the notes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    /// The day it was deprecated (`YYYY-MM-DD`, from midnight UTC).
    pub since: &'static str,
    /// The first day it may be gone (`YYYY-MM-DD`, from midnight UTC).
    pub sunset: &'static str,
    /// The notes: what replaces it and how to move (an absolute URL).
    pub link: &'static str,
}

impl Deprecation {
    /// The three headers, or why this deprecation is not well-formed (a bad date, a sunset
    /// sooner than the minimum notice, a relative link).
    pub fn headers(&self) -> Result<[(HeaderName, HeaderValue); 3], String> {
        let since = day(self.since)?;
        let sunset = day(self.sunset)?;
        let earliest = since
            .checked_add_months(chrono::Months::new(MINIMUM_NOTICE_MONTHS))
            .ok_or_else(|| format!("{} is out of range", self.since))?;
        if sunset < earliest {
            return Err(format!(
                "the sunset {} is less than {MINIMUM_NOTICE_MONTHS} months after {}",
                self.sunset, self.since
            ));
        }
        if !(self.link.starts_with("https://") || self.link.starts_with("http://")) {
            return Err(format!("the link {:?} is not an absolute URL", self.link));
        }
        let value = |text: String| {
            HeaderValue::from_str(&text).map_err(|_| format!("{text:?} is not a header value"))
        };
        let midnight = |d: NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
        Ok([
            (
                HeaderName::from_static("deprecation"),
                value(format!("@{}", midnight(since).timestamp()))?,
            ),
            (
                HeaderName::from_static("sunset"),
                value(
                    midnight(sunset)
                        .format("%a, %d %b %Y %H:%M:%S GMT")
                        .to_string(),
                )?,
            ),
            (
                LINK,
                value(format!(
                    "<{}>; rel=\"deprecation\"; type=\"text/html\"",
                    self.link
                ))?,
            ),
        ])
    }
}

fn day(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// Wraps one deprecated route in a middleware that adds the headers to whatever it answers.
/// `Link` is appended, so a link the handler set itself is kept.
pub fn announce(route: Route, headers: [(HeaderName, HeaderValue); 3]) -> Route {
    route.wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
        let headers = headers.clone();
        async move {
            let mut res: ServiceResponse<BoxBody> = next.call(req).await?;
            for (name, value) in headers {
                res.headers_mut().append(name, value);
            }
            Ok::<_, Error>(res)
        }
    }))
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap should fail loudly"
)]
mod tests {
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::{web, App, HttpResponse};

    use super::*;
    use crate::problem::ApiError;

    const NOTICE: Deprecation = Deprecation {
        since: "2027-01-15",
        sunset: "2027-07-15",
        link: "https://ips.example.no/changes#old-route",
    };

    #[test]
    fn headers_follow_the_rfcs() {
        let [deprecation, sunset, link] = NOTICE.headers().unwrap();
        assert_eq!(deprecation.0, "deprecation");
        // 2027-01-15T00:00:00Z
        assert_eq!(deprecation.1, "@1799971200");
        assert_eq!(sunset.0, "sunset");
        assert_eq!(sunset.1, "Thu, 15 Jul 2027 00:00:00 GMT");
        assert_eq!(link.0, "link");
        assert_eq!(
            link.1,
            "<https://ips.example.no/changes#old-route>; rel=\"deprecation\"; type=\"text/html\""
        );
    }

    #[test]
    fn a_short_notice_or_a_bad_date_is_refused() {
        let short = Deprecation {
            sunset: "2027-07-14",
            ..NOTICE
        };
        assert!(short.headers().unwrap_err().contains("less than 6 months"));
        let bad = Deprecation {
            since: "15.01.2027",
            ..NOTICE
        };
        assert!(bad.headers().is_err());
        let relative = Deprecation {
            link: "/docs/changes",
            ..NOTICE
        };
        assert!(relative.headers().is_err());
    }

    async fn old() -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((LINK, "</v1/new>; rel=\"successor-version\""))
            .body("old")
    }

    async fn failing() -> Result<HttpResponse, ApiError> {
        Err(ApiError::NotFound)
    }

    async fn current() -> HttpResponse {
        HttpResponse::Ok().body("new")
    }

    #[actix_web::test]
    async fn only_the_deprecated_route_announces_it_on_every_answer() {
        let headers = NOTICE.headers().unwrap();
        let app = init_service(
            App::new()
                .service(
                    web::resource("/old")
                        .route(announce(web::get().to(old), headers.clone()))
                        .route(web::post().to(current)),
                )
                .service(
                    web::resource("/failing").route(announce(web::get().to(failing), headers)),
                ),
        )
        .await;

        let res = call_service(&app, TestRequest::get().uri("/old").to_request()).await;
        assert_eq!(res.headers().get("deprecation").unwrap(), "@1799971200");
        assert_eq!(
            res.headers().get("sunset").unwrap(),
            "Thu, 15 Jul 2027 00:00:00 GMT"
        );
        let links: Vec<_> = res.headers().get_all(LINK).collect();
        assert_eq!(links.len(), 2, "the handler's own link is kept: {links:?}");

        // The same path with a method that is not deprecated says nothing.
        let res = call_service(&app, TestRequest::post().uri("/old").to_request()).await;
        assert!(res.headers().get("deprecation").is_none());
        assert!(res.headers().get("sunset").is_none());

        // An error from a deprecated route is announced too.
        let res = call_service(&app, TestRequest::get().uri("/failing").to_request()).await;
        assert_eq!(res.status(), 404);
        assert_eq!(res.headers().get("deprecation").unwrap(), "@1799971200");
    }
}
