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

/// Checks a presented token's shape before any database work; anything else is simply not a token.
pub fn is_well_formed(kind: TokenKind, token: &str) -> bool {
    token.strip_prefix(kind.prefix()).is_some_and(|body| {
        body.len() == 43
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The stored form. Tokens carry 256 bits of entropy, so a fast hash is enough: nobody can
/// search that space, and a lookup by hash stays one indexed read.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
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
}
