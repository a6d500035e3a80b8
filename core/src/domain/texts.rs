//! The message catalogue: every text the product writes to a person, by message id and
//! language. Texts are whole sentences per language, never glued from translated fragments.
//! Norwegian dates read "mandag 3. mars kl. 14.00".

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

use super::Language;

/// A text with its parameters already chosen.
#[derive(Debug, Clone, Copy)]
pub enum Text<'a> {
    /// The calendar feed's name.
    CalendarName,
    /// An interview's title when details may not be shown.
    AppointmentTitle,
    /// An interview's title when the participant allowed details.
    InterviewTitle { role: &'a str, employer: &'a str },
    /// The calendar alarm, two hours before.
    AlarmTwoHours,
    /// "You have an appointment <when>", with the local time written out.
    AppointmentAt { at: DateTime<Utc>, zone: Tz },
}

pub fn render(language: Language, text: Text<'_>) -> String {
    match (language, text) {
        (Language::Nb, Text::CalendarName) => "Mine jobbintervjuer".into(),
        (Language::En, Text::CalendarName) => "My job interviews".into(),
        (Language::Nb, Text::AppointmentTitle) => "Avtale".into(),
        (Language::En, Text::AppointmentTitle) => "Appointment".into(),
        (Language::Nb, Text::InterviewTitle { role, employer }) => {
            format!("Jobbintervju: {role} hos {employer}")
        }
        (Language::En, Text::InterviewTitle { role, employer }) => {
            format!("Job interview: {role} at {employer}")
        }
        (Language::Nb, Text::AlarmTwoHours) => "Du har en avtale om to timer.".into(),
        (Language::En, Text::AlarmTwoHours) => "You have an appointment in two hours.".into(),
        (Language::Nb, Text::AppointmentAt { at, zone }) => {
            format!("Du har en avtale {}.", when_nb(at, zone))
        }
        (Language::En, Text::AppointmentAt { at, zone }) => {
            format!("You have an appointment on {}.", when_en(at, zone))
        }
    }
}

const NB_DAYS: [&str; 7] = [
    "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag",
];
const NB_MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];

/// "mandag 3. mars kl. 14.00"
pub fn when_nb(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    format!(
        "{} {}. {} kl. {:02}.{:02}",
        NB_DAYS[local.weekday().num_days_from_monday() as usize],
        local.day(),
        NB_MONTHS[local.month0() as usize],
        local.hour(),
        local.minute()
    )
}

/// "Monday 3 March at 14:00"
pub fn when_en(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%A %-d %B at %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Oslo;

    #[test]
    fn norwegian_dates_read_naturally() {
        let at = Utc
            .with_ymd_and_hms(2025, 3, 3, 13, 0, 0)
            .single()
            .expect("time");
        assert_eq!(when_nb(at, Oslo), "mandag 3. mars kl. 14.00");
        assert_eq!(when_en(at, Oslo), "Monday 3 March at 14:00");
        assert_eq!(
            render(Language::Nb, Text::AppointmentAt { at, zone: Oslo }),
            "Du har en avtale mandag 3. mars kl. 14.00."
        );
    }
}
