//! What a notification says: its title and body, worded from the message catalogue for where it
//! is shown. Inside the app (the inbox) a notification may name the role and the employer; on a
//! lock screen (a push, worded by the worker through this same function) it names the employer
//! only if the participant allowed previews, and a staff member's push never names anyone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::alerts::AlertKind;
use super::texts::{render as say, Text};
use super::{ContactRequestKind, Language};

/// Where the words will be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Inside the app, behind the reader's login.
    InApp,
    /// On a lock screen, where anyone nearby may read it.
    LockScreen { previews: bool },
}

/// The interview a notification is about, with the time zone its time is written in.
#[derive(Debug, Clone)]
pub struct InterviewFacts {
    pub role: String,
    pub employer: String,
    pub starts_at: DateTime<Utc>,
    pub zone: Tz,
}

/// A notification with the facts needed to word it.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A reminder to the participant before their interview.
    InterviewReminder(InterviewFacts),
    /// The participant's interview was cancelled (by their specialist).
    InterviewCancelled(InterviewFacts),
    /// To staff: a participant of theirs cancelled an interview.
    InterviewCancelledByParticipant {
        participant: String,
        interview: InterviewFacts,
    },
    /// To staff: an interview was cancelled, but its details are not theirs to see any more
    /// (the participant left their caseload).
    InterviewCancelledElsewhere,
    /// To the participant: their specialist wrote to them (the words stay in the app).
    NewMessage,
    /// To the participant: their supervisor gave them a new job specialist, named here.
    NewSpecialist { name: String },
    /// To staff: an alert about a participant of their caseload (inside the app it names them; on
    /// a lock screen it says only what kind of thing needs doing).
    Alert(AlertFacts),
    /// To staff: an alert whose participant is not theirs to see any more: its kind only.
    AlertElsewhere(AlertKind),
    /// A kind this version does not know, or whose subject is gone.
    Other,
}

/// An alert with what its words need.
#[derive(Debug, Clone)]
pub struct AlertFacts {
    pub kind: AlertKind,
    pub participant: String,
    /// The cause's time, written in `zone`.
    pub at: DateTime<Utc>,
    pub zone: Tz,
    /// The interview an "interview without outcome" alert is about.
    pub interview: Option<InterviewFacts>,
    /// The kind of a waiting contact request.
    pub request: Option<ContactRequestKind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub title: String,
    pub body: String,
}

pub fn render(language: Language, surface: Surface, notice: &Notice) -> Rendered {
    let (title, body) = match notice {
        Notice::InterviewReminder(i) => {
            let title = Text::ReminderTitle {
                at: i.starts_at,
                zone: i.zone,
            };
            let body = match surface {
                Surface::InApp => Text::InterviewTitle {
                    role: &i.role,
                    employer: &i.employer,
                },
                Surface::LockScreen { previews: true } => Text::ReminderAtEmployer {
                    employer: &i.employer,
                },
                Surface::LockScreen { previews: false } => Text::OpenAppForDetails,
            };
            (say(language, title), say(language, body))
        }
        Notice::InterviewCancelled(i) => {
            let title = Text::AppointmentCancelledTitle {
                at: i.starts_at,
                zone: i.zone,
            };
            let body = match surface {
                Surface::InApp => Text::InterviewCancelledBody {
                    role: &i.role,
                    employer: &i.employer,
                },
                Surface::LockScreen { previews: true } => Text::InterviewCancelledAtEmployer {
                    employer: &i.employer,
                },
                Surface::LockScreen { previews: false } => Text::OpenAppForDetails,
            };
            (say(language, title), say(language, body))
        }
        Notice::InterviewCancelledByParticipant {
            participant,
            interview: i,
        } => match surface {
            Surface::InApp => (
                say(language, Text::ParticipantCancelledTitle { participant }),
                say(
                    language,
                    Text::ParticipantCancelledBody {
                        role: &i.role,
                        employer: &i.employer,
                        at: i.starts_at,
                        zone: i.zone,
                    },
                ),
            ),
            // A staff member's phone shows no participant's name on its lock screen.
            Surface::LockScreen { .. } => (
                say(language, Text::InterviewCancelledGeneric),
                say(language, Text::OpenAppForDetails),
            ),
        },
        Notice::InterviewCancelledElsewhere => (
            say(language, Text::InterviewCancelledGeneric),
            say(language, Text::OpenAppForDetails),
        ),
        Notice::NewMessage => (
            say(language, Text::NewMessageTitle),
            say(language, Text::NewMessageBody),
        ),
        Notice::NewSpecialist { name } => match surface {
            Surface::InApp => (
                say(language, Text::NewSpecialistTitle { name }),
                say(language, Text::NewSpecialistBody { name }),
            ),
            // Previews or not: a specialist's name on a lock screen says "this person is in IPS".
            Surface::LockScreen { .. } => (
                say(language, Text::NewContactPersonTitle),
                say(language, Text::OpenAppForDetails),
            ),
        },
        Notice::Alert(a) => match surface {
            Surface::InApp => {
                let title = Text::AlertTitle {
                    kind: a.kind,
                    participant: &a.participant,
                    request: a.request,
                };
                let body = match &a.interview {
                    Some(i) => Text::AlertInterviewBody {
                        role: &i.role,
                        employer: &i.employer,
                        at: i.starts_at,
                        zone: i.zone,
                    },
                    None => Text::AlertBody {
                        kind: a.kind,
                        participant: &a.participant,
                        at: a.at,
                        zone: a.zone,
                    },
                };
                (say(language, title), say(language, body))
            }
            // A staff member's lock screen never names a participant.
            Surface::LockScreen { .. } => (
                say(language, Text::AlertGenericTitle { kind: a.kind }),
                say(language, Text::OpenAppForDetails),
            ),
        },
        Notice::AlertElsewhere(kind) => (
            say(language, Text::AlertGenericTitle { kind: *kind }),
            say(language, Text::OpenAppForDetails),
        ),
        Notice::Other => (
            say(language, Text::NotificationTitle),
            say(language, Text::OpenAppForDetails),
        ),
    };
    Rendered { title, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Oslo;

    fn interview() -> InterviewFacts {
        InterviewFacts {
            role: "Butikkmedarbeider".into(),
            employer: "Rema 1000".into(),
            starts_at: Utc
                .with_ymd_and_hms(2025, 3, 3, 13, 0, 0)
                .single()
                .expect("time"),
            zone: Oslo,
        }
    }

    #[test]
    fn the_inbox_names_the_interview_and_the_lock_screen_only_when_allowed() {
        let notice = Notice::InterviewReminder(interview());
        let in_app = render(Language::Nb, Surface::InApp, &notice);
        assert_eq!(
            in_app.title,
            "Påminnelse: du har en avtale mandag 3. mars kl. 14.00"
        );
        assert_eq!(in_app.body, "Jobbintervju: Butikkmedarbeider hos Rema 1000");
        let private = render(
            Language::En,
            Surface::LockScreen { previews: false },
            &notice,
        );
        assert_eq!(
            private.title,
            "Reminder: you have an appointment on Monday 3 March at 14:00"
        );
        assert!(!private.body.contains("Rema") && !private.body.contains("Butikk"));
        let previewed = render(
            Language::En,
            Surface::LockScreen { previews: true },
            &notice,
        );
        assert_eq!(previewed.body, "Job interview at Rema 1000.");
        assert!(!previewed.body.contains("Butikk"));
    }

    #[test]
    fn a_new_specialist_is_named_in_the_app_and_never_on_the_lock_screen() {
        let notice = Notice::NewSpecialist {
            name: "Kari Nordmann".into(),
        };
        let in_app = render(Language::Nb, Surface::InApp, &notice);
        assert_eq!(in_app.title, "Din nye jobbspesialist er Kari Nordmann");
        assert!(in_app.body.starts_with("Kari Nordmann følger deg opp"));
        let english = render(Language::En, Surface::InApp, &notice);
        assert_eq!(english.title, "Your new job specialist is Kari Nordmann");
        for previews in [false, true] {
            let push = render(Language::En, Surface::LockScreen { previews }, &notice);
            assert_eq!(push.title, "You have a new contact person");
            assert!(!push.title.contains("Kari") && !push.body.contains("Kari"));
        }
    }

    #[test]
    fn staff_pushes_never_name_the_participant() {
        let notice = Notice::InterviewCancelledByParticipant {
            participant: "Ola".into(),
            interview: interview(),
        };
        let in_app = render(Language::Nb, Surface::InApp, &notice);
        assert_eq!(in_app.title, "Ola har avlyst et jobbintervju");
        assert!(in_app.body.contains("mandag 3. mars kl. 14.00"));
        let push = render(
            Language::Nb,
            Surface::LockScreen { previews: true },
            &notice,
        );
        assert!(!push.title.contains("Ola") && !push.body.contains("Rema"));
    }

    #[test]
    fn alerts_name_the_participant_in_the_app_and_nobody_on_a_lock_screen() {
        for kind in AlertKind::ALL {
            let notice = Notice::Alert(AlertFacts {
                kind: *kind,
                participant: "Ola Nordmann".into(),
                at: interview().starts_at,
                zone: Oslo,
                interview: (*kind == AlertKind::InterviewWithoutOutcome).then(interview),
                request: None,
            });
            for language in Language::ALL {
                let in_app = render(*language, Surface::InApp, &notice);
                assert!(
                    in_app.title.contains("Ola Nordmann"),
                    "{kind:?}: {in_app:?}"
                );
                for previews in [true, false] {
                    let push = render(*language, Surface::LockScreen { previews }, &notice);
                    let words = format!("{} {}", push.title, push.body);
                    assert!(
                        !words.contains("Ola")
                            && !words.contains("Rema")
                            && !words.contains("Butikk"),
                        "{kind:?}: {push:?}"
                    );
                }
            }
        }
        let overdue = Notice::Alert(AlertFacts {
            kind: AlertKind::FollowUpOverdue,
            participant: "Ola".into(),
            at: interview().starts_at,
            zone: Oslo,
            interview: None,
            request: None,
        });
        let nb = render(Language::Nb, Surface::InApp, &overdue);
        assert_eq!(nb.title, "Oppfølgingen av Ola er forsinket");
        assert_eq!(
            nb.body,
            "Kontakten skulle vært tatt innen mandag 3. mars kl. 14.00."
        );
        let en = render(
            Language::En,
            Surface::LockScreen { previews: true },
            &overdue,
        );
        assert_eq!(en.title, "A follow-up is overdue");
        let without = Notice::Alert(AlertFacts {
            kind: AlertKind::InterviewWithoutOutcome,
            participant: "Ola".into(),
            at: interview().starts_at,
            zone: Oslo,
            interview: Some(interview()),
            request: None,
        });
        assert_eq!(
            render(Language::En, Surface::InApp, &without).body,
            "The job interview for Butikkmedarbeider at Rema 1000 on Monday 3 March at 14:00 has no outcome recorded."
        );
        let request = Notice::Alert(AlertFacts {
            kind: AlertKind::RequestWaiting,
            participant: "Ola".into(),
            at: interview().starts_at,
            zone: Oslo,
            interview: None,
            request: Some(ContactRequestKind::BenefitsCounselling),
        });
        assert_eq!(
            render(Language::En, Surface::InApp, &request).title,
            "Ola asks for benefits counselling"
        );
    }
}
