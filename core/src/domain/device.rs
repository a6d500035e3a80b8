//! Rules for push devices that need no database: what a push token and a locale look like, and
//! how much of a token may ever be shown.

/// The longest push token accepted. APNs tokens are 64 hex digits and FCM tokens about 160
/// characters; the margin leaves room for the providers to grow them.
pub const MAX_TOKEN_CHARS: usize = 4096;
pub const MAX_APP_VERSION_CHARS: usize = 50;
pub const MAX_LOCALE_CHARS: usize = 35;
/// How many trailing characters of a token the API shows, so a person can tell their devices apart.
pub const TOKEN_HINT_CHARS: usize = 8;

/// A push token is 1 to 4096 printable ASCII characters without spaces: every provider's tokens
/// fit (hex for APNs; letters, digits, `:`, `-` and `_` for FCM), and nothing invisible can hide in one.
pub fn is_push_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_CHARS
        && token.bytes().all(|b| b.is_ascii_graphic())
}

/// An app version as the app reports it (`2.4.1 (318)`): 1 to 50 printable characters, not blank.
pub fn is_app_version(version: &str) -> bool {
    let chars = version.chars().count();
    (1..=MAX_APP_VERSION_CHARS).contains(&chars)
        && !version.trim().is_empty()
        && !version.chars().any(char::is_control)
}

/// A BCP 47-style language tag as phones report them: a 2 to 8 letter language, then subtags
/// of 1 to 8 letters or digits, joined by `-` (or `_`, which iOS and Android also use), at most
/// 35 characters: `nb`, `nb-NO`, `en_GB`, `zh-Hant-TW`.
pub fn is_locale(tag: &str) -> bool {
    if tag.is_empty() || tag.len() > MAX_LOCALE_CHARS {
        return false;
    }
    let mut parts = tag.split(['-', '_']);
    let Some(language) = parts.next() else {
        return false;
    };
    (2..=8).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The end of a token, enough to recognise a device but never the whole token: the last eight
/// characters, or for a token of sixteen characters or fewer only its last half.
pub fn token_hint(token: &str) -> String {
    let shown = TOKEN_HINT_CHARS.min(token.len() / 2);
    // Tokens are ASCII (see `is_push_token`), so byte and character positions agree.
    token
        .get(token.len() - shown..)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_printable_ascii_without_spaces() {
        assert!(is_push_token(&"a1".repeat(32)));
        assert!(is_push_token("dGVzdA:APA91bH-x_y"));
        assert!(is_push_token(&"x".repeat(MAX_TOKEN_CHARS)));
        assert!(!is_push_token(&"x".repeat(MAX_TOKEN_CHARS + 1)));
        assert!(!is_push_token(""));
        assert!(!is_push_token("abc def"));
        assert!(!is_push_token("abc\u{0}def"));
        assert!(!is_push_token("abcæøå"));
    }

    #[test]
    fn app_versions_are_short_visible_text() {
        assert!(is_app_version("2.4.1 (318)"));
        assert!(is_app_version(&"9".repeat(50)));
        assert!(!is_app_version(&"9".repeat(51)));
        assert!(!is_app_version(""));
        assert!(!is_app_version("   "));
        assert!(!is_app_version("1.0\n"));
    }

    #[test]
    fn locales_are_language_tags() {
        for good in ["nb", "nb-NO", "en_GB", "zh-Hant-TW", "sr-Latn-RS", "es-419"] {
            assert!(is_locale(good), "{good}");
        }
        for bad in [
            "",
            "n",
            "nb--NO",
            "nb-",
            "12-NO",
            "nb NO",
            "en-GB-toolongsubtag",
            &"a".repeat(36),
        ] {
            assert!(!is_locale(bad), "{bad}");
        }
    }

    #[test]
    fn hints_never_show_a_whole_token() {
        assert_eq!(
            token_hint(&format!("{}ABCDEFGH", "0".repeat(56))),
            "ABCDEFGH"
        );
        assert_eq!(token_hint("abcdefghij"), "fghij");
        assert_eq!(token_hint("a"), "");
        assert_eq!(token_hint(""), "");
    }
}
