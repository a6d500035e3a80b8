//! The message catalogue: every text the product writes to a person, by message id and
//! language. Texts are whole sentences per language, never glued from translated fragments.
//! Norwegian dates read "mandag 3. mars kl. 14.00".

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

use super::alerts::AlertKind;
use super::{ContactRequestKind, Language};

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
    // --- alerts to staff (docs/follow-up.md, "Alerts") ---
    /// An alert's title inside the staff app, naming the participant. `request` is the kind of a
    /// waiting contact request.
    AlertTitle {
        kind: AlertKind,
        participant: &'a str,
        request: Option<ContactRequestKind>,
    },
    /// What an alert is about, inside the staff app; `at` is its cause's time (a due time, an
    /// interview's end, a message's or request's time, the withdrawal).
    AlertBody {
        kind: AlertKind,
        participant: &'a str,
        at: DateTime<Utc>,
        zone: Tz,
    },
    /// An interview without an outcome, with its details, inside the staff app.
    AlertInterviewBody {
        role: &'a str,
        employer: &'a str,
        at: DateTime<Utc>,
        zone: Tz,
    },
    /// An alert on a lock screen: what kind of thing needs doing, never who.
    AlertGenericTitle { kind: AlertKind },
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
        (language, Text::AlertTitle { kind, participant, request }) => {
            alert_title(language, kind, participant, request)
        }
        (language, Text::AlertBody { kind, participant, at, zone }) => {
            alert_body(language, kind, participant, at, zone)
        }
        (Language::Nb, Text::AlertInterviewBody { role, employer, at, zone }) => format!(
            "Jobbintervjuet som {role} hos {employer} {} har ikke fått noe utfall.",
            when_nb(at, zone)
        ),
        (Language::En, Text::AlertInterviewBody { role, employer, at, zone }) => format!(
            "The job interview for {role} at {employer} on {} has no outcome recorded.",
            when_en(at, zone)
        ),
        (language, Text::AlertGenericTitle { kind }) => alert_generic_title(language, kind).into(),
    }
}

fn alert_title(
    language: Language,
    kind: AlertKind,
    p: &str,
    request: Option<ContactRequestKind>,
) -> String {
    use AlertKind as K;
    match (language, kind) {
        (Language::Nb, K::FollowUpDue) => format!("Oppfølgingen av {p} nærmer seg"),
        (Language::En, K::FollowUpDue) => format!("Follow-up with {p} is coming up"),
        (Language::Nb, K::FollowUpOverdue) => format!("Oppfølgingen av {p} er forsinket"),
        (Language::En, K::FollowUpOverdue) => format!("Follow-up with {p} is overdue"),
        (Language::Nb, K::NoEmployerContact) => format!("Ingen arbeidsgiverkontakt for {p} ennå"),
        (Language::En, K::NoEmployerContact) => format!("No employer contact for {p} yet"),
        (Language::Nb, K::InterviewWithoutOutcome) => format!("Intervjuet til {p} mangler utfall"),
        (Language::En, K::InterviewWithoutOutcome) => format!("{p}'s job interview has no outcome"),
        (Language::Nb, K::MessageUnanswered) => format!("{p} venter på svar"),
        (Language::En, K::MessageUnanswered) => format!("{p} is waiting for an answer"),
        (Language::Nb, K::RequestWaiting) => match request {
            Some(ContactRequestKind::BenefitsCounselling) => {
                format!("{p} ber om veiledning om trygd og arbeid")
            }
            _ => format!("{p} ber om å bli ringt"),
        },
        (Language::En, K::RequestWaiting) => match request {
            Some(ContactRequestKind::BenefitsCounselling) => {
                format!("{p} asks for benefits counselling")
            }
            _ => format!("{p} asks to be called"),
        },
        (Language::Nb, K::ParticipantWithdrew) => format!("{p} har trukket seg"),
        (Language::En, K::ParticipantWithdrew) => format!("{p} has withdrawn"),
    }
}

fn alert_body(language: Language, kind: AlertKind, p: &str, at: DateTime<Utc>, zone: Tz) -> String {
    use AlertKind as K;
    match (language, kind) {
        (Language::Nb, K::FollowUpDue) => {
            format!("Neste kontakt skal skje innen {}.", when_nb(at, zone))
        }
        (Language::En, K::FollowUpDue) => {
            format!("The next contact is due by {}.", when_en(at, zone))
        }
        (Language::Nb, K::FollowUpOverdue) => {
            format!("Kontakten skulle vært tatt innen {}.", when_nb(at, zone))
        }
        (Language::En, K::FollowUpOverdue) => {
            format!("The contact was due by {}.", when_en(at, zone))
        }
        (Language::Nb, K::NoEmployerContact) => {
            format!("Det er ikke registrert noen kontakt med arbeidsgivere for {p} siden oppstart.")
        }
        (Language::En, K::NoEmployerContact) => {
            format!("No contact with employers has been logged for {p} since enrolment.")
        }
        (Language::Nb, K::InterviewWithoutOutcome) => {
            format!(
                "Jobbintervjuet {} har ikke fått noe utfall.",
                when_nb(at, zone)
            )
        }
        (Language::En, K::InterviewWithoutOutcome) => {
            format!(
                "The job interview on {} has no outcome recorded.",
                when_en(at, zone)
            )
        }
        (Language::Nb, K::MessageUnanswered) => format!(
            "Meldingen fra {p} {} har ikke fått svar.",
            when_nb(at, zone)
        ),
        (Language::En, K::MessageUnanswered) => format!(
            "The message from {p} on {} has not been answered.",
            when_en(at, zone)
        ),
        (Language::Nb, K::RequestWaiting) => format!(
            "Forespørselen fra {} er ikke behandlet ennå.",
            when_nb(at, zone)
        ),
        (Language::En, K::RequestWaiting) => format!(
            "The request from {} has not been handled yet.",
            when_en(at, zone)
        ),
        (Language::Nb, K::ParticipantWithdrew) => format!(
            "{p} avsluttet deltakelsen sin {}. Saken er lukket.",
            when_nb(at, zone)
        ),
        (Language::En, K::ParticipantWithdrew) => format!(
            "{p} ended their participation on {}. The case is closed.",
            when_en(at, zone)
        ),
    }
}

fn alert_generic_title(language: Language, kind: AlertKind) -> &'static str {
    use AlertKind as K;
    match (language, kind) {
        (Language::Nb, K::FollowUpDue) => "En oppfølging nærmer seg",
        (Language::En, K::FollowUpDue) => "A follow-up is coming up",
        (Language::Nb, K::FollowUpOverdue) => "En oppfølging er forsinket",
        (Language::En, K::FollowUpOverdue) => "A follow-up is overdue",
        (Language::Nb, K::NoEmployerContact) => "En deltaker mangler arbeidsgiverkontakt",
        (Language::En, K::NoEmployerContact) => "A participant has no employer contact yet",
        (Language::Nb, K::InterviewWithoutOutcome) => "Et jobbintervju mangler utfall",
        (Language::En, K::InterviewWithoutOutcome) => "A job interview has no outcome",
        (Language::Nb, K::MessageUnanswered) => "En melding venter på svar",
        (Language::En, K::MessageUnanswered) => "A message is waiting for an answer",
        (Language::Nb, K::RequestWaiting) => "En forespørsel venter",
        (Language::En, K::RequestWaiting) => "A request is waiting",
        (Language::Nb, K::ParticipantWithdrew) => "En deltaker har trukket seg",
        (Language::En, K::ParticipantWithdrew) => "A participant has withdrawn",
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
