//! A participant's job preferences (IPS principle 7: job search follows the participant's own
//! interests and preferences), and the rules every saved version must meet.
//!
//! The document is replaced whole on every save, so it is one value type; the store keeps the
//! current version and a snapshot of every earlier one.

use serde::{Deserialize, Serialize};

use super::{Disclosure, Goal, PreferredTime};

pub const MAX_LIST_ITEMS: usize = 20;
pub const MAX_ITEM_CHARS: usize = 100;
pub const MAX_EXPERIENCE_CHARS: usize = 2000;
pub const MAX_DISCLOSURE_NOTES_CHARS: usize = 1000;
pub const MAX_NOTES_CHARS: usize = 2000;
pub const MAX_HOURS_PER_WEEK: i32 = 60;
pub const MAX_COMMUTE_MINUTES: i32 = 240;

/// The whole document. A field left out of a saved document is empty (`[]` or `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobPreferences {
    pub goal: Option<Goal>,
    pub desired_roles: Vec<String>,
    pub industries: Vec<String>,
    pub interests: Vec<String>,
    pub skills: Vec<String>,
    pub experience: Option<String>,
    pub hours_per_week_min: Option<i32>,
    pub hours_per_week_max: Option<i32>,
    pub preferred_times: Vec<PreferredTime>,
    pub locations: Vec<String>,
    pub max_commute_minutes: Option<i32>,
    /// Things the participant wants to stay away from (a trade, a place, night shifts...).
    pub avoid: Vec<String>,
    /// Whether an employer may be told about the participant's condition, and how.
    pub disclosure: Option<Disclosure>,
    pub disclosure_notes: Option<String>,
    pub notes: Option<String>,
}

/// One broken rule: the field's name in the document, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: &'static str,
    pub message: String,
}

impl Violation {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl JobPreferences {
    fn lists(&self) -> [(&'static str, &Vec<String>); 6] {
        [
            ("desired_roles", &self.desired_roles),
            ("industries", &self.industries),
            ("interests", &self.interests),
            ("skills", &self.skills),
            ("locations", &self.locations),
            ("avoid", &self.avoid),
        ]
    }

    fn texts(&self) -> [(&'static str, &Option<String>, usize); 3] {
        [
            ("experience", &self.experience, MAX_EXPERIENCE_CHARS),
            (
                "disclosure_notes",
                &self.disclosure_notes,
                MAX_DISCLOSURE_NOTES_CHARS,
            ),
            ("notes", &self.notes, MAX_NOTES_CHARS),
        ]
    }

    /// Every rule the document breaks; empty when it may be saved. Lengths count characters of
    /// the trimmed text, as [`JobPreferences::normalised`] will store it.
    pub fn violations(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        for (field, items) in self.lists() {
            if items.len() > MAX_LIST_ITEMS {
                out.push(Violation::new(
                    field,
                    format!("must hold at most {MAX_LIST_ITEMS} items"),
                ));
            }
            if let Some(i) = items
                .iter()
                .position(|item| !(1..=MAX_ITEM_CHARS).contains(&item.trim().chars().count()))
            {
                out.push(Violation::new(
                    field,
                    format!("item {} must be 1 to {MAX_ITEM_CHARS} characters", i + 1),
                ));
            }
        }
        if self.preferred_times.len() > PreferredTime::ALL.len() {
            out.push(Violation::new("preferred_times", "must not repeat a time"));
        }
        for (field, text, max) in self.texts() {
            if text
                .as_ref()
                .is_some_and(|t| t.trim().chars().count() > max)
            {
                out.push(Violation::new(
                    field,
                    format!("must be at most {max} characters"),
                ));
            }
        }
        let hours = 0..=MAX_HOURS_PER_WEEK;
        let hours_message = format!("must be 0 to {MAX_HOURS_PER_WEEK} hours a week");
        if self.hours_per_week_min.is_some_and(|h| !hours.contains(&h)) {
            out.push(Violation::new("hours_per_week_min", hours_message.clone()));
        }
        if self.hours_per_week_max.is_some_and(|h| !hours.contains(&h)) {
            out.push(Violation::new("hours_per_week_max", hours_message));
        }
        if let (Some(min), Some(max)) = (self.hours_per_week_min, self.hours_per_week_max) {
            if min > max && hours.contains(&min) && hours.contains(&max) {
                out.push(Violation::new(
                    "hours_per_week_max",
                    "must not be less than hours_per_week_min",
                ));
            }
        }
        if self
            .max_commute_minutes
            .is_some_and(|m| !(0..=MAX_COMMUTE_MINUTES).contains(&m))
        {
            out.push(Violation::new(
                "max_commute_minutes",
                format!("must be 0 to {MAX_COMMUTE_MINUTES} minutes"),
            ));
        }
        out
    }

    /// The form that is stored: text trimmed, blank notes as `null`, repeated list items dropped
    /// (keeping the first), preferred times in their fixed order.
    pub fn normalised(mut self) -> Self {
        for list in [
            &mut self.desired_roles,
            &mut self.industries,
            &mut self.interests,
            &mut self.skills,
            &mut self.locations,
            &mut self.avoid,
        ] {
            let mut kept: Vec<String> = Vec::with_capacity(list.len());
            for item in list.drain(..) {
                let item = item.trim().to_owned();
                if !kept.contains(&item) {
                    kept.push(item);
                }
            }
            *list = kept;
        }
        for text in [
            &mut self.experience,
            &mut self.disclosure_notes,
            &mut self.notes,
        ] {
            *text = text
                .take()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty());
        }
        self.preferred_times = PreferredTime::ALL
            .iter()
            .copied()
            .filter(|t| self.preferred_times.contains(t))
            .collect();
        self
    }

    /// The names of the fields whose values differ between two versions, in document order.
    pub fn changed_fields(before: &Self, after: &Self) -> Vec<String> {
        let (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) =
            (serde_json::to_value(before), serde_json::to_value(after))
        else {
            return Vec::new();
        };
        FIELD_ORDER
            .iter()
            .filter(|f| old.get(**f) != new.get(**f))
            .map(|f| (*f).to_owned())
            .collect()
    }
}

/// The document's fields in the order they are declared (and shown).
pub const FIELD_ORDER: &[&str] = &[
    "goal",
    "desired_roles",
    "industries",
    "interests",
    "skills",
    "experience",
    "hours_per_week_min",
    "hours_per_week_max",
    "preferred_times",
    "locations",
    "max_commute_minutes",
    "avoid",
    "disclosure",
    "disclosure_notes",
    "notes",
];

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap should fail loudly"
)]
mod tests {
    use super::*;

    fn fields(doc: &JobPreferences) -> Vec<&'static str> {
        doc.violations().iter().map(|v| v.field).collect()
    }

    #[test]
    fn the_empty_document_is_valid() {
        assert!(JobPreferences::default().violations().is_empty());
    }

    #[test]
    fn a_full_document_is_valid() {
        let doc = JobPreferences {
            goal: Some(Goal::Work),
            desired_roles: vec!["Barista".into()],
            hours_per_week_min: Some(0),
            hours_per_week_max: Some(60),
            max_commute_minutes: Some(240),
            preferred_times: PreferredTime::ALL.to_vec(),
            experience: Some("x".repeat(MAX_EXPERIENCE_CHARS)),
            disclosure: Some(Disclosure::Partial),
            disclosure_notes: Some("ø".repeat(MAX_DISCLOSURE_NOTES_CHARS)),
            notes: Some("n".repeat(MAX_NOTES_CHARS)),
            skills: vec!["å".repeat(MAX_ITEM_CHARS); MAX_LIST_ITEMS],
            ..Default::default()
        };
        assert_eq!(doc.violations(), vec![]);
    }

    #[test]
    fn lists_are_short_lists_of_short_texts() {
        let too_many = JobPreferences {
            interests: (0..=MAX_LIST_ITEMS).map(|i| i.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(fields(&too_many), vec!["interests"]);
        let blank = JobPreferences {
            locations: vec!["Oslo".into(), "  ".into()],
            ..Default::default()
        };
        assert_eq!(fields(&blank), vec!["locations"]);
        assert!(blank.violations()[0].message.contains("item 2"));
        let long = JobPreferences {
            avoid: vec!["x".repeat(MAX_ITEM_CHARS + 1)],
            ..Default::default()
        };
        assert_eq!(fields(&long), vec!["avoid"]);
    }

    #[test]
    fn numbers_stay_in_range_and_order() {
        let doc = JobPreferences {
            hours_per_week_min: Some(-1),
            hours_per_week_max: Some(61),
            max_commute_minutes: Some(241),
            ..Default::default()
        };
        assert_eq!(
            fields(&doc),
            vec![
                "hours_per_week_min",
                "hours_per_week_max",
                "max_commute_minutes"
            ]
        );
        let reversed = JobPreferences {
            hours_per_week_min: Some(30),
            hours_per_week_max: Some(20),
            ..Default::default()
        };
        assert_eq!(fields(&reversed), vec!["hours_per_week_max"]);
        let only_min = JobPreferences {
            hours_per_week_min: Some(30),
            ..Default::default()
        };
        assert!(only_min.violations().is_empty());
    }

    #[test]
    fn texts_have_limits() {
        let doc = JobPreferences {
            experience: Some("x".repeat(MAX_EXPERIENCE_CHARS + 1)),
            disclosure_notes: Some("x".repeat(MAX_DISCLOSURE_NOTES_CHARS + 1)),
            notes: Some("x".repeat(MAX_NOTES_CHARS + 1)),
            ..Default::default()
        };
        assert_eq!(
            fields(&doc),
            vec!["experience", "disclosure_notes", "notes"]
        );
    }

    #[test]
    fn normalising_trims_and_drops_repeats() {
        let doc = JobPreferences {
            desired_roles: vec![" Barista ".into(), "Barista".into(), "Cook".into()],
            preferred_times: vec![PreferredTime::Weekend, PreferredTime::Morning],
            notes: Some("   ".into()),
            experience: Some(" Two summers at a café ".into()),
            ..Default::default()
        }
        .normalised();
        assert_eq!(doc.desired_roles, vec!["Barista", "Cook"]);
        assert_eq!(
            doc.preferred_times,
            vec![PreferredTime::Morning, PreferredTime::Weekend]
        );
        assert_eq!(doc.notes, None);
        assert_eq!(doc.experience.as_deref(), Some("Two summers at a café"));
    }

    #[test]
    fn changed_fields_name_what_differs() {
        let before = JobPreferences::default();
        let after = JobPreferences {
            goal: Some(Goal::Education),
            hours_per_week_max: Some(20),
            ..Default::default()
        };
        assert_eq!(
            JobPreferences::changed_fields(&before, &after),
            vec!["goal", "hours_per_week_max"]
        );
        assert!(JobPreferences::changed_fields(&after, &after).is_empty());
    }

    #[test]
    fn the_field_order_names_every_field() {
        let value = serde_json::to_value(JobPreferences::default()).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut order = FIELD_ORDER.to_vec();
        keys.sort_unstable();
        order.sort_unstable();
        assert_eq!(keys, order);
    }
}
