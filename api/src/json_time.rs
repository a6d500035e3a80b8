//! Instants in JSON answers, written exactly as chrono's `Serialize` writes a `DateTime<Utc>`
//! (RFC 3339 with `Z`, and 3, 6 or 9 fraction digits only when the instant has a fraction), but
//! straight into a small buffer. Through chrono's formatter and serde_json's escaping writer an
//! instant costs about 1,700 instructions; a page of interviews holds a few dozen of them, which
//! made them a tenth of a read's CPU. For `#[serde(serialize_with = ...)]` on hot views; the
//! tests below hold the output to chrono's, byte for byte.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

/// The longest form: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const LONGEST: usize = 30;

/// An instant as chrono would write it.
pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0u8; LONGEST];
    match write(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        // A year outside 0..=9999 is written with a sign; chrono knows how.
        None => at.serialize(serializer),
    }
}

/// A list of instants, each as [`rfc3339`] writes it.
pub fn rfc3339_list<S: Serializer>(
    list: &[DateTime<Utc>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    struct One<'a>(&'a DateTime<Utc>);
    impl Serialize for One<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            rfc3339(self.0, serializer)
        }
    }
    let mut seq = serializer.serialize_seq(Some(list.len()))?;
    for at in list {
        seq.serialize_element(&One(at))?;
    }
    seq.end()
}

/// Writes `at` into `buffer`; `None` for a year of more or fewer than four digits.
fn write<'a>(at: &DateTime<Utc>, buffer: &'a mut [u8; LONGEST]) -> Option<&'a str> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    // chrono keeps a leap second as second 59 with a billion nanoseconds or more, and writes it
    // as second 60 with the rest.
    let (second, nanos) = match at.nanosecond() {
        n if n >= 1_000_000_000 => (at.second() + 1, n - 1_000_000_000),
        n => (at.second(), n),
    };
    let mut out = Out { buffer, len: 0 };
    out.digits(year, 4);
    out.byte(b'-');
    out.digits(at.month(), 2);
    out.byte(b'-');
    out.digits(at.day(), 2);
    out.byte(b'T');
    out.digits(at.hour(), 2);
    out.byte(b':');
    out.digits(at.minute(), 2);
    out.byte(b':');
    out.digits(second, 2);
    // chrono's `AutoSi`: no fraction, or milli-, micro- or nanoseconds, the fewest that are exact.
    let fraction = match nanos {
        0 => None,
        n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
        n if n % 1_000 == 0 => Some((n / 1_000, 6)),
        n => Some((n, 9)),
    };
    if let Some((value, width)) = fraction {
        out.byte(b'.');
        out.digits(value, width);
    }
    out.byte(b'Z');
    let len = out.len;
    std::str::from_utf8(&buffer[..len]).ok()
}

/// A cursor over the buffer; the widths above never reach its end.
struct Out<'a> {
    buffer: &'a mut [u8; LONGEST],
    len: usize,
}

impl Out<'_> {
    fn byte(&mut self, b: u8) {
        self.buffer[self.len] = b;
        self.len += 1;
    }

    /// `value` in exactly `width` decimal digits, zero-padded.
    fn digits(&mut self, value: u32, width: usize) {
        let mut rest = value;
        for slot in self.buffer[self.len..self.len + width].iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        self.len += width;
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn ours(at: &DateTime<Utc>) -> String {
        let mut out = Vec::new();
        rfc3339(at, &mut serde_json::Serializer::new(&mut out)).expect("written");
        String::from_utf8(out).expect("UTF-8")
    }

    fn chronos(at: &DateTime<Utc>) -> String {
        serde_json::to_string(at).expect("written")
    }

    #[test]
    fn instants_are_written_as_chrono_writes_them() {
        let base = Utc.with_ymd_and_hms(2026, 11, 23, 7, 5, 9).unwrap();
        let fractions = [
            0,
            1,
            999,
            1_000,
            120_000,
            123_456,
            1_000_000,
            500_000_000,
            123_456_789,
            999_999_999,
        ];
        for nanos in fractions {
            let at = base + chrono::Duration::nanoseconds(i64::from(nanos));
            assert_eq!(ours(&at), chronos(&at), "{nanos} ns");
        }
        let edges = [
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 12, 0, 0).unwrap(),
        ];
        for at in edges {
            assert_eq!(ours(&at), chronos(&at));
        }
        // A leap second, as chrono represents it.
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_250_000_000))
            .expect("a leap second")
            .and_utc();
        assert_eq!(ours(&leap), chronos(&leap));
        // Every minute of a day and a spread of days, with a stored-precision fraction.
        let mut at = Utc.with_ymd_and_hms(2025, 12, 31, 0, 0, 0).unwrap()
            + chrono::Duration::microseconds(654_321);
        for _ in 0..2_000 {
            assert_eq!(ours(&at), chronos(&at));
            at += chrono::Duration::seconds(3_601 * 7 + 13);
        }
    }

    #[test]
    fn a_list_is_a_json_array_of_them() {
        let list = vec![
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 6).unwrap() + chrono::Duration::milliseconds(7),
        ];
        let mut out = Vec::new();
        rfc3339_list(&list, &mut serde_json::Serializer::new(&mut out)).expect("written");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            serde_json::to_string(&list).expect("written")
        );
    }
}
