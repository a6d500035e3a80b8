//! One-time enrolment codes: what a specialist reads out or writes down for a new participant.
//!
//! Eight characters from an alphabet without look-alikes (no 0/O, 1/I/L, no U), shown as
//! `ABCD-EFGH`, typed in any case with or without the dash. 30^8 is about 6.6e11 codes; with a
//! short expiry, single use and a rate limit on guesses, guessing one is hopeless.

use rand::Rng;

use super::tokens;

const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH: usize = 8;

/// A new code in its display form, `XXXX-XXXX`.
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    let raw: String = (0..LENGTH)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &raw[..4], &raw[4..])
}

/// The canonical form of what someone typed, or `None` if it cannot be a code.
pub fn normalise(input: &str) -> Option<String> {
    let cleaned: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{a0}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = cleaned.len() == LENGTH && cleaned.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(cleaned)
}

/// The stored form of a code (never the code itself).
pub fn hash(normalised: &str) -> String {
    tokens::hash(&format!("enrolment-code:{normalised}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_normalise_to_themselves() {
        for _ in 0..100 {
            let code = generate();
            assert_eq!(code.len(), 9);
            let canonical = normalise(&code).expect("a generated code is valid");
            assert_eq!(canonical, code.replace('-', ""));
        }
    }

    #[test]
    fn typing_is_forgiving_but_strict_about_characters() {
        assert_eq!(normalise("abcd-efgh").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalise(" abcd efgh ").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalise("ABCD-EFG"), None);
        assert_eq!(normalise("ABCD-EFG0"), None, "0 is not in the alphabet");
        assert_eq!(normalise("ABCD-EFGØ"), None);
        assert_eq!(normalise(""), None);
    }
}
