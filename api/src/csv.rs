//! CSV as RFC 4180 writes it: fields separated by commas, records ended by CRLF, a field quoted
//! when it holds a comma, a double quote, CR or LF, and a double quote inside doubled.

use std::borrow::Cow;

/// One field, quoted if it must be.
pub fn field(text: &str) -> Cow<'_, str> {
    if text.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

/// A free text a person typed (a team's name), made safe for spreadsheets: one that begins like
/// a formula (`=`, `+`, `-`, `@`, a tab or CR) gets a leading apostrophe, so a spreadsheet shows
/// it as text instead of running it (OWASP's advice against CSV injection).
pub fn text(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Appends one record.
pub fn push_record(out: &mut String, fields: &[&str]) {
    for (i, value) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(value));
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("IPS Oslo, Øst"), "\"IPS Oslo, Øst\"");
        assert_eq!(field("a \"b\""), "\"a \"\"b\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "");
        let mut out = String::new();
        push_record(&mut out, &["metric", "a,b", ""]);
        assert_eq!(out, "metric,\"a,b\",\r\n");
    }

    #[test]
    fn formulas_stay_text() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("IPS Bergen"), "IPS Bergen");
    }
}
