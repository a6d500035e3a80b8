//! Bearer tokens: random, prefixed by kind so a leaked one is recognisable, stored only as hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a token is for; the prefix tells a reader (and a secret scanner) what leaked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
    /// The secret in a participant's calendar-feed URL.
    CalendarFeed,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Access => "ipsa_",
            TokenKind::Refresh => "ipsr_",
            TokenKind::CalendarFeed => "ipsc_",
        }
    }
}

/// A new token: 32 random bytes (256 bits) after the kind's prefix.
pub fn generate(kind: TokenKind) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes))
}

/// Checks a presented token's shape before any database work: well formed exactly when
/// [`generate`] could have made it (the kind's prefix, then the unpadded URL-safe base64 of 32
/// bytes, with no stray bits in the last character); anything else is simply not a token.
pub fn is_well_formed(kind: TokenKind, token: &str) -> bool {
    token.strip_prefix(kind.prefix()).is_some_and(|body| {
        // The length first, so a long header is never decoded.
        body.len() == 43
            && URL_SAFE_NO_PAD
                .decode(body)
                .is_ok_and(|bytes| bytes.len() == 32)
    })
}

/// The stored form. Tokens carry 256 bits of entropy, so a fast hash is enough: nobody can
/// search that space, and a lookup by hash stays one indexed read.
pub fn hash(secret: &str) -> String {
    // Hex by hand: this runs on every authenticated request, and a `format!` per byte cost
    // more than the hash itself.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = generate(TokenKind::Access);
        let b = generate(TokenKind::Access);
        assert_ne!(a, b);
        assert!(is_well_formed(TokenKind::Access, &a));
        assert!(!is_well_formed(TokenKind::Refresh, &a));
        assert!(!is_well_formed(TokenKind::Access, "ipsa_short"));
        assert!(!is_well_formed(TokenKind::Access, ""));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn the_stored_form_is_lower_case_hex_sha256() {
        // The stored hashes of existing sessions must keep matching.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_last_character_with_stray_bits_is_not_a_token() {
        // 43 characters carry 258 bits for 256: the last one's low two bits are always zero.
        let canonical = format!("ipsa_{}", "A".repeat(43));
        let stray = format!("ipsa_{}B", "A".repeat(42));
        assert!(is_well_formed(TokenKind::Access, &canonical));
        assert!(!is_well_formed(TokenKind::Access, &stray));
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        const KINDS: [TokenKind; 3] = [
            TokenKind::Access,
            TokenKind::Refresh,
            TokenKind::CalendarFeed,
        ];

        /// Text near a token's shape: a prefix (right, wrong or none) and a body of about the
        /// right length from base64's alphabets, padding, and characters outside them.
        fn near_tokens() -> impl Strategy<Value = String> {
            let prefix = prop_oneof![
                Just("ipsa_"),
                Just("ipsr_"),
                Just("ipsc_"),
                Just("IPSA_"),
                Just(""),
            ];
            (prefix, "[A-Za-z0-9_+/=. é-]{40,46}").prop_map(|(p, body)| format!("{p}{body}"))
        }

        proptest! {
            #[test]
            fn a_token_made_from_any_bytes_is_well_formed_for_its_kind_alone(
                bytes in any::<[u8; 32]>(),
            ) {
                for kind in KINDS {
                    let token = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
                    for other in KINDS {
                        prop_assert_eq!(is_well_formed(other, &token), other == kind);
                    }
                }
            }

            /// Well formed exactly when the body reads back as 32 bytes that write out as the
            /// same body: parse(format(x)) == x, and nothing else is accepted.
            #[test]
            fn text_is_well_formed_exactly_when_it_is_a_token(
                text in prop_oneof![any::<String>(), near_tokens()],
            ) {
                for kind in KINDS {
                    let round_trips = text.strip_prefix(kind.prefix()).is_some_and(|body| {
                        URL_SAFE_NO_PAD.decode(body).is_ok_and(|bytes| {
                            bytes.len() == 32 && URL_SAFE_NO_PAD.encode(&bytes) == body
                        })
                    });
                    prop_assert_eq!(is_well_formed(kind, &text), round_trips, "{}", text);
                }
            }
        }
    }
}
