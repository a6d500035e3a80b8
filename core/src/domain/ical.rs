//! iCalendar (RFC 5545) for interviews: one event per interview with a stable `UID`, a
//! `SEQUENCE` that grows with every change, `STATUS:CANCELLED` when cancelled (so calendar apps
//! remove it), a reminder alarm, and a generic summary unless the participant allowed details.

use chrono::{DateTime, Utc};

/// What one calendar event says.
#[derive(Debug, Clone)]
pub struct Event {
    pub interview_id: i64,
    pub sequence: i32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub cancelled: bool,
    pub confirmed: bool,
    pub updated_at: DateTime<Utc>,
    /// Shown as the title; generic unless the participant allowed details.
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub url: Option<String>,
    pub alarm_text: String,
}

/// `METHOD:PUBLISH` for a feed or a download; `METHOD:CANCEL` for one cancelled event on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Publish,
    Cancel,
}

const PRODID: &str = "-//IPS Companion//Interviews//EN";

pub fn calendar(events: &[Event], method: Method, name: &str) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, &format!("PRODID:{PRODID}"));
    line(&mut out, "CALSCALE:GREGORIAN");
    line(
        &mut out,
        match method {
            Method::Publish => "METHOD:PUBLISH",
            Method::Cancel => "METHOD:CANCEL",
        },
    );
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for event in events {
        write_event(&mut out, event);
    }
    line(&mut out, "END:VCALENDAR");
    out
}

fn write_event(out: &mut String, e: &Event) {
    line(out, "BEGIN:VEVENT");
    line(
        out,
        &format!("UID:interview-{}@ips-companion", e.interview_id),
    );
    line(out, &format!("SEQUENCE:{}", e.sequence));
    line(out, &format!("DTSTAMP:{}", stamp(e.updated_at)));
    line(out, &format!("LAST-MODIFIED:{}", stamp(e.updated_at)));
    line(out, &format!("DTSTART:{}", stamp(e.starts_at)));
    line(out, &format!("DTEND:{}", stamp(e.ends_at)));
    let status = if e.cancelled {
        "CANCELLED"
    } else if e.confirmed {
        "CONFIRMED"
    } else {
        "TENTATIVE"
    };
    line(out, &format!("STATUS:{status}"));
    line(out, &format!("SUMMARY:{}", escape(&e.summary)));
    if let Some(description) = &e.description {
        line(out, &format!("DESCRIPTION:{}", escape(description)));
    }
    if let Some(location) = &e.location {
        line(out, &format!("LOCATION:{}", escape(location)));
    }
    if let Some(url) = &e.url {
        line(out, &format!("URL:{}", escape(url)));
    }
    line(out, "TRANSP:OPAQUE");
    if !e.cancelled {
        line(out, "BEGIN:VALARM");
        line(out, "ACTION:DISPLAY");
        line(out, &format!("DESCRIPTION:{}", escape(&e.alarm_text)));
        line(out, "TRIGGER:-PT2H");
        line(out, "END:VALARM");
    }
    line(out, "END:VEVENT");
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes a content line folded at 75 octets (never inside a UTF-8 character), ending in CRLF.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(cancelled: bool) -> Event {
        Event {
            interview_id: 7,
            sequence: 3,
            starts_at: Utc
                .with_ymd_and_hms(2026, 3, 2, 13, 0, 0)
                .single()
                .expect("time"),
            ends_at: Utc
                .with_ymd_and_hms(2026, 3, 2, 14, 0, 0)
                .single()
                .expect("time"),
            cancelled,
            confirmed: false,
            updated_at: Utc
                .with_ymd_and_hms(2026, 2, 20, 8, 0, 0)
                .single()
                .expect("time"),
            summary: "Avtale".into(),
            description: Some("Husk legitimasjon; møt opp, ti minutter før.\nLykke til!".into()),
            location: None,
            url: None,
            alarm_text: "Du har en avtale om to timer".into(),
        }
    }

    #[test]
    fn an_event_has_a_stable_uid_sequence_and_alarm() {
        let ics = calendar(&[event(false)], Method::Publish, "Intervjuer");
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.contains("UID:interview-7@ips-companion\r\n"));
        assert!(ics.contains("SEQUENCE:3\r\n"));
        assert!(ics.contains("DTSTART:20260302T130000Z\r\n"));
        assert!(ics.contains("STATUS:TENTATIVE\r\n"));
        assert!(ics.contains("BEGIN:VALARM\r\nACTION:DISPLAY\r\n"));
        assert!(ics
            .contains("DESCRIPTION:Husk legitimasjon\\; møt opp\\, ti minutter før.\\nLykke til!"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn a_cancelled_event_says_so_and_has_no_alarm() {
        let ics = calendar(&[event(true)], Method::Cancel, "Intervjuer");
        assert!(ics.contains("METHOD:CANCEL\r\n"));
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
        assert!(!ics.contains("VALARM"));
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{}", "ø".repeat(60)));
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{}\r\n", "ø".repeat(60)));
    }
}
