//! `/docs`: a readable reference of `openapi.yaml`, rendered in the browser by Redoc.
//!
//! The Redoc bundle is vendored in `api/assets/redoc/` (its version, checksum and licences beside
//! it; `tools/update_docs_assets.sh` refetches it) and embedded in the binary, so the page works
//! on a closed network and asks nothing of any other host.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::preconditions::if_none_match;

/// Redoc's standalone bundle, byte for byte as the npm package ships it.
const REDOC_JS: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");

/// The page; `{asset_version}` becomes the bundle's checksum.
const PAGE_TEMPLATE: &str = include_str!("../../assets/docs.html");

/// What the page may do, and no more: scripts only from this server, the contract fetched from
/// this server. Redoc needs three allowances, each found by loading the page under a stricter
/// policy: inline styles (styled-components writes `<style>` elements and `style` attributes),
/// `data:` images (its icons are inline SVG), and `blob:` workers (its search index runs in a
/// worker made from a blob).
/// Its sidebar's "API docs by Redocly" logo is an image on Redocly's CDN: `img-src` blocks it, and
/// Redoc then leaves the logo out.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; worker-src blob:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The bundle's SHA-256 in hex: its entity tag, and the version in the page's link to it.
fn redoc_checksum() -> &'static str {
    static CHECKSUM: OnceLock<String> = OnceLock::new();
    CHECKSUM.get_or_init(|| {
        Sha256::digest(REDOC_JS)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

fn page() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| PAGE_TEMPLATE.replace("{asset_version}", &redoc_checksum()[..16]))
}

/// The reference page. Revalidated on every visit (it is small), so a new bundle's new URL is
/// seen at once.
pub async fn page_html() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(page())
}

/// The Redoc bundle: cached for a year under its checksummed URL, and revalidated by its
/// entity tag (304 without a body) when a cache asks anyway.
pub async fn redoc_js(req: HttpRequest) -> HttpResponse {
    let etag = format!("\"{}\"", redoc_checksum());
    let unchanged = if_none_match(&req, &etag);
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if unchanged {
        return response.finish();
    }
    response
        .content_type("application/javascript; charset=utf-8")
        .body(REDOC_JS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendored bundle is the one `api/assets/redoc/VERSION` names: a hand-edited bundle, or
    /// one copied without running `tools/update_docs_assets.sh`, fails here.
    #[test]
    fn the_bundle_matches_its_recorded_checksum() {
        let note = include_str!("../../assets/redoc/VERSION");
        let recorded = note
            .lines()
            .find_map(|l| l.strip_prefix("sha256 "))
            .and_then(|l| l.split_whitespace().next())
            .expect("a sha256 line in VERSION");
        assert_eq!(redoc_checksum(), recorded);
    }

    #[test]
    fn the_page_loads_the_bundle_by_its_checksum() {
        assert!(page().contains(&format!(
            "/docs/redoc.standalone.js?v={}",
            &redoc_checksum()[..16]
        )));
        assert!(!page().contains("{asset_version}"));
        assert!(!page().contains("http"), "no absolute URL in the page");
    }
}
