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

    mod properties {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::select;

        use super::super::*;

        /// The canonical form of any code: eight characters of the alphabet.
        fn canonical() -> impl Strategy<Value = String> {
            vec(select(ALPHABET), LENGTH).prop_map(|c| c.into_iter().map(char::from).collect())
        }

        /// A character that can never be part of a code: outside the alphabet in either case
        /// and not a separator.
        fn foreign() -> impl Strategy<Value = char> {
            any::<char>().prop_filter("not in a code", |c| {
                let separator = matches!(c, '-' | ' ' | '\u{a0}');
                let in_alphabet =
                    u8::try_from(c.to_ascii_uppercase()).is_ok_and(|b| ALPHABET.contains(&b));
                !(separator || in_alphabet)
            })
        }

        proptest! {
            /// Any text is a code or not, without panicking, and a code is canonical.
            #[test]
            fn any_text_reads_as_a_canonical_code_or_none(input in any::<String>()) {
                if let Some(code) = normalise(&input) {
                    prop_assert_eq!(code.len(), LENGTH);
                    prop_assert!(code.bytes().all(|b| ALPHABET.contains(&b)));
                    prop_assert_eq!(normalise(&code), Some(code.clone()));
                }
            }

            /// parse(format(x)) == x: the display form, typed in any case with any separators,
            /// reads back as the code.
            #[test]
            fn a_code_typed_any_way_reads_back(
                code in canonical(),
                lower in vec(any::<bool>(), LENGTH),
                middle in select(vec!["-", "", " ", "\u{a0}", " - "]),
                around in "[ -]{0,3}",
            ) {
                let typed: String = code
                    .chars()
                    .zip(lower)
                    .map(|(c, l)| if l { c.to_ascii_lowercase() } else { c })
                    .collect();
                let shown = format!("{around}{}{middle}{}{around}", &typed[..4], &typed[4..]);
                prop_assert_eq!(normalise(&shown), Some(code));
            }

            /// One foreign character, in place of a code's character or added to it, and the
            /// text is not a code; so is a code one character short.
            #[test]
            fn a_code_with_one_character_wrong_is_none(
                code in canonical(),
                at in 0..LENGTH,
                bad in foreign(),
            ) {
                let mut replaced: Vec<char> = code.chars().collect();
                replaced[at] = bad;
                let replaced: String = replaced.into_iter().collect();
                prop_assert_eq!(normalise(&replaced), None);
                let mut added = code.clone();
                added.insert(at, bad);
                prop_assert_eq!(normalise(&added), None);
                prop_assert_eq!(normalise(&code[..LENGTH - 1]), None);
            }
        }
    }
}
