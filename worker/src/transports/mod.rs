//! Push transports behind one trait.

pub mod apns;
pub mod fcm;
pub mod log;

/// Error text without the request URL (it is the same for every send and only adds noise).
pub(crate) fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_decode() {
        "unreadable answer"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

/// At most 200 characters of an answer's text, for the error column.
pub(crate) fn short(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
