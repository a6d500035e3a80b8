//! The closed sets of values stored as text with a CHECK constraint.

use serde::{Deserialize, Serialize};

/// Generates `as_str` / `parse` for an enum stored as text, so the names live in one place.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// Other domain modules define their own closed sets with it.
pub(crate) use text_enum;

text_enum! {
    /// A staff member's role. Participants are not staff: their sessions carry no role row.
    Role { Specialist => "specialist", Supervisor => "supervisor", Admin => "admin" }
}

text_enum! {
    /// The languages the product speaks: Norwegian bokmål and English.
    Language { Nb => "nb", En => "en" }
}

text_enum! {
    /// Where a participant is in the programme.
    ParticipantStatus {
        Referred => "referred",
        JobSeeking => "job_seeking",
        InWork => "in_work",
        InEducation => "in_education",
        Paused => "paused",
        Closed => "closed",
    }
}

text_enum! {
    /// What the participant is aiming for (IPS principle 3): ordinary paid work, or education.
    Goal { Work => "work", Education => "education" }
}

text_enum! {
    /// Whether the participant wants an employer told about their health condition.
    Disclosure { No => "no", Partial => "partial", Full => "full" }
}

text_enum! {
    /// When in the week the participant would like to work.
    PreferredTime {
        Morning => "morning",
        Daytime => "daytime",
        Afternoon => "afternoon",
        Evening => "evening",
        Night => "night",
        Weekend => "weekend",
    }
}

text_enum! {
    /// Which side of a participant's message thread wrote a message.
    SenderKind { Participant => "participant", Staff => "staff" }
}

impl SenderKind {
    /// The side whose messages this side reads (and marks read).
    pub fn other(self) -> Self {
        match self {
            SenderKind::Participant => SenderKind::Staff,
            SenderKind::Staff => SenderKind::Participant,
        }
    }
}

text_enum! {
    /// Why a participant's case was closed. `withdrew` is the participant's own decision;
    /// `lost_contact` needs logged outreach first (see `domain::case_status`).
    ClosedReason {
        Work => "work",
        Education => "education",
        Withdrew => "withdrew",
        Moved => "moved",
        LostContact => "lost_contact",
        Other => "other",
    }
}

text_enum! {
    /// The push service a device's token belongs to: Apple's (APNs) or Firebase Cloud Messaging.
    Platform { Apns => "apns", Fcm => "fcm" }
}

text_enum! {
    /// What a participant asks their team for: a phone call, or benefits counselling (IPS principle 4).
    ContactRequestKind { CallMe => "call_me", BenefitsCounselling => "benefits_counselling" }
}

text_enum! {
    /// A contact request is open until staff handle it; a handled request is never reopened.
    ContactRequestStatus { Open => "open", Handled => "handled" }
}

impl Language {
    /// Picks the first supported language from an `Accept-Language` header, if any.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut choices: Vec<(f32, Language)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let q = pieces
                    .find_map(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                    })
                    .unwrap_or(1.0);
                let primary = tag.split('-').next()?;
                let lang = match primary {
                    "nb" | "no" | "nn" => Language::Nb,
                    "en" => Language::En,
                    _ => return None,
                };
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map(|c| c.1)
    }
}

/// Whether `name` is an IANA time zone this build knows.
pub fn is_time_zone(name: &str) -> bool {
    name.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
        }
        assert_eq!(Role::parse("participant"), None);
    }

    #[test]
    fn accept_language_prefers_weight() {
        assert_eq!(
            Language::from_accept_language("en;q=0.5, nb-NO"),
            Some(Language::Nb)
        );
        assert_eq!(
            Language::from_accept_language("de, en-GB;q=0.8"),
            Some(Language::En)
        );
        assert_eq!(
            Language::from_accept_language("no;q=0, en;q=0.1"),
            Some(Language::En)
        );
        assert_eq!(Language::from_accept_language("fr"), None);
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(is_time_zone("Europe/Oslo"));
        assert!(!is_time_zone("Europe/Atlantis"));
        assert!(!is_time_zone(""));
    }
}
