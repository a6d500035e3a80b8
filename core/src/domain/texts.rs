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
    /// A reminder's title; generic, so it may stand on a lock screen.
    ReminderTitle { at: DateTime<Utc>, zone: Tz },
    /// A reminder's body on a lock screen when the participant allowed previews: the employer only.
    ReminderAtEmployer { employer: &'a str },
    /// A body that gives nothing away: the details are inside the app.
    OpenAppForDetails,
    /// The title of a cancellation sent to the participant; generic.
    AppointmentCancelledTitle { at: DateTime<Utc>, zone: Tz },
    /// The body of that cancellation inside the app, with the details.
    InterviewCancelledBody { role: &'a str, employer: &'a str },
    /// A cancellation on a lock screen when the participant allowed previews: the employer only.
    InterviewCancelledAtEmployer { employer: &'a str },
    /// The title of a cancellation sent to staff, naming the participant who cancelled.
    ParticipantCancelledTitle { participant: &'a str },
    /// The body of that cancellation: which interview, and when it would have been.
    ParticipantCancelledBody {
        role: &'a str,
        employer: &'a str,
        at: DateTime<Utc>,
        zone: Tz,
    },
    /// A cancellation sent to staff, worded for a lock screen (no name, no employer).
    InterviewCancelledGeneric,
    /// The title of a notification whose details this reader cannot be shown.
    NotificationTitle,
    /// A new message from the participant's job specialist (no sender name, no text).
    NewMessageTitle,
    /// Where to read it.
    NewMessageBody,
    // --- a new job specialist (reassignment) ---
    /// Inside the app: who the participant's new job specialist is.
    NewSpecialistTitle { name: &'a str },
    /// Inside the app: what that means for them.
    NewSpecialistBody { name: &'a str },
    /// On a lock screen: that their contact person changed, without a name (a specialist's name
    /// would tell anyone nearby that the person is in IPS).
    NewContactPersonTitle,
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
        (Language::Nb, Text::ReminderTitle { at, zone }) => {
            format!("Påminnelse: du har en avtale {}", when_nb(at, zone))
        }
        (Language::En, Text::ReminderTitle { at, zone }) => {
            format!("Reminder: you have an appointment on {}", when_en(at, zone))
        }
        (Language::Nb, Text::ReminderAtEmployer { employer }) => {
            format!("Jobbintervju hos {employer}.")
        }
        (Language::En, Text::ReminderAtEmployer { employer }) => {
            format!("Job interview at {employer}.")
        }
        (Language::Nb, Text::OpenAppForDetails) => "Åpne appen for å se mer.".into(),
        (Language::En, Text::OpenAppForDetails) => "Open the app to see more.".into(),
        (Language::Nb, Text::AppointmentCancelledTitle { at, zone }) => {
            format!("Avlyst: avtalen din {}", when_nb(at, zone))
        }
        (Language::En, Text::AppointmentCancelledTitle { at, zone }) => {
            format!("Cancelled: your appointment on {}", when_en(at, zone))
        }
        (Language::Nb, Text::InterviewCancelledBody { role, employer }) => format!(
            "Jobbintervjuet som {role} hos {employer} er avlyst. Ta kontakt med jobbspesialisten din hvis du lurer på noe."
        ),
        (Language::En, Text::InterviewCancelledBody { role, employer }) => format!(
            "The job interview for {role} at {employer} has been cancelled. Get in touch with your job specialist if you have questions."
        ),
        (Language::Nb, Text::InterviewCancelledAtEmployer { employer }) => {
            format!("Jobbintervjuet hos {employer} er avlyst.")
        }
        (Language::En, Text::InterviewCancelledAtEmployer { employer }) => {
            format!("The job interview at {employer} has been cancelled.")
        }
        (Language::Nb, Text::ParticipantCancelledTitle { participant }) => {
            format!("{participant} har avlyst et jobbintervju")
        }
        (Language::En, Text::ParticipantCancelledTitle { participant }) => {
            format!("{participant} has cancelled a job interview")
        }
        (
            Language::Nb,
            Text::ParticipantCancelledBody {
                role,
                employer,
                at,
                zone,
            },
        ) => format!(
            "Jobbintervjuet som {role} hos {employer} {} er avlyst.",
            when_nb(at, zone)
        ),
        (
            Language::En,
            Text::ParticipantCancelledBody {
                role,
                employer,
                at,
                zone,
            },
        ) => format!(
            "The job interview for {role} at {employer} on {} has been cancelled.",
            when_en(at, zone)
        ),
        (Language::Nb, Text::InterviewCancelledGeneric) => "Et jobbintervju er avlyst".into(),
        (Language::En, Text::InterviewCancelledGeneric) => {
            "A job interview has been cancelled".into()
        }
        (Language::Nb, Text::NewMessageTitle) => "Du har en ny melding fra jobbspesialisten din".into(),
        (Language::En, Text::NewMessageTitle) => "You have a new message from your job specialist".into(),
        (Language::Nb, Text::NewMessageBody) => "Åpne appen for å lese den.".into(),
        (Language::En, Text::NewMessageBody) => "Open the app to read it.".into(),
        (Language::Nb, Text::NotificationTitle) => "Nytt varsel".into(),
        (Language::En, Text::NotificationTitle) => "New notification".into(),
        (Language::Nb, Text::NewSpecialistTitle { name }) => {
            format!("Din nye jobbspesialist er {name}")
        }
        (Language::En, Text::NewSpecialistTitle { name }) => {
            format!("Your new job specialist is {name}")
        }
        (Language::Nb, Text::NewSpecialistBody { name }) => format!(
            "{name} følger deg opp fra nå av og er den du kan kontakte. Kontaktinformasjonen finner du under teamet ditt i appen."
        ),
        (Language::En, Text::NewSpecialistBody { name }) => format!(
            "{name} will support you from now on and is the person to contact. You will find their contact details under your team in the app."
        ),
        (Language::Nb, Text::NewContactPersonTitle) => "Du har fått en ny kontaktperson".into(),
        (Language::En, Text::NewContactPersonTitle) => "You have a new contact person".into(),
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

    #[test]
    fn reminder_titles_are_whole_sentences_in_each_language() {
        let at = Utc
            .with_ymd_and_hms(2025, 3, 3, 13, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            render(Language::Nb, Text::ReminderTitle { at, zone: Oslo }),
            "Påminnelse: du har en avtale mandag 3. mars kl. 14.00"
        );
        assert_eq!(
            render(Language::En, Text::ReminderTitle { at, zone: Oslo }),
            "Reminder: you have an appointment on Monday 3 March at 14:00"
        );
    }
}
