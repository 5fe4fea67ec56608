//! Rendering and recipients of every event, without a database.

use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::config::Settings;

const NBSP: char = '\u{a0}';

fn settings(vars: &[(&str, &str)]) -> Settings {
    let mut map: HashMap<String, String> = HashMap::new();
    map.insert(
        "APP__MAIL__STAFF_ADDRESSES".into(),
        "ess@lillemetropole.fr, instruction@lillemetropole.fr".into(),
    );
    map.insert(
        "APP__FRONTEND__BASE_URL".into(),
        "https://depot.lillemetropole.fr/".into(),
    );
    for (k, v) in vars {
        map.insert((*k).into(), (*v).into());
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    Settings::load_from(&dir, map).unwrap()
}

fn notifier() -> Notifier {
    Notifier::new(&settings(&[])).unwrap()
}

fn event(name: &str) -> MailEvent {
    sample_events()
        .into_iter()
        .find(|e| e.name() == name)
        .unwrap()
}

fn render(event: &MailEvent) -> Vec<OutgoingMail> {
    notifier().render(event).unwrap()
}

const LINK: &str =
    "https://depot.lillemetropole.fr/candidatures/01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f";

#[test]
fn the_samples_cover_every_event_and_template() {
    let samples = sample_events();
    let names: Vec<_> = samples.iter().map(MailEvent::name).collect();
    assert_eq!(
        names,
        [
            "submitted",
            "changes_requested",
            "declared_ineligible",
            "review_started",
            "reviewer_assigned",
            "accepted",
            "rejected",
            "withdrawn",
            "reviewer_recused",
            "reviews_complete",
            "convention_to_sign",
            "convention_signed",
            "convention_countersigned",
            "convention_reminder",
            "instalment_requested",
            "instalment_paid",
            "recovery_requested",
            "report_submitted",
            "report_changes_requested",
            "report_approved",
            "report_reminder",
            "grant_lapsed"
        ]
    );
    let mut kinds: Vec<_> = samples.iter().flat_map(|e| e.kinds().to_vec()).collect();
    kinds.dedup();
    assert_eq!(kinds, MailKind::APPLICATION);
}

#[test]
fn recipients_per_event() {
    let staff = vec!["a@mel.fr".to_owned(), "b@mel.fr".to_owned()];
    let who = |e: &MailEvent, staff: &[String]| -> Vec<(&'static str, String)> {
        e.recipients(staff)
            .into_iter()
            .map(|r| (r.audience.as_str(), r.address))
            .collect()
    };
    let applicant = ("applicant", "porteur@exemple.fr".to_owned());
    let a = ("staff", "a@mel.fr".to_owned());
    let b = ("staff", "b@mel.fr".to_owned());
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "submitted",
            vec![
                applicant.clone(),
                a.clone(),
                b.clone(),
                ("commune", "agent@ville-roubaix.fr".to_owned()),
            ],
        ),
        ("changes_requested", vec![applicant.clone()]),
        ("declared_ineligible", vec![applicant.clone()]),
        ("review_started", vec![applicant.clone()]),
        (
            "reviewer_assigned",
            vec![("reviewer", "expert@exemple.fr".to_owned())],
        ),
        ("accepted", vec![applicant.clone()]),
        ("rejected", vec![applicant.clone()]),
        ("withdrawn", vec![applicant.clone(), a, b]),
    ];
    for (name, expected) in cases {
        assert_eq!(who(&event(name), &staff), expected, "{name}");
    }

    // A withdrawn draft was never seen by staff: only the applicant hears of it.
    let MailEvent::Withdrawn { app, reason, .. } = event("withdrawn") else {
        unreachable!()
    };
    let draft = MailEvent::Withdrawn {
        app,
        reason,
        was_submitted: false,
    };
    assert_eq!(who(&draft, &staff), vec![applicant.clone()]);
    // No staff configured: the applicant still gets the receipt (and the commune its mail).
    assert_eq!(
        who(&event("submitted"), &[]),
        vec![applicant, ("commune", "agent@ville-roubaix.fr".to_owned())]
    );
}

#[test]
fn every_mail_names_the_reference_call_state_link_and_amount() {
    for event in sample_events() {
        let mails = render(&event);
        assert!(!mails.is_empty());
        let state = event.new_state().label_fr();
        for mail in mails {
            let c = &mail.content;
            let what = format!("{} to {}", event.name(), mail.recipient.address);
            assert!(c.subject.contains("EA-2026-00042"), "{what}: {}", c.subject);
            assert!(!c.subject.contains('\n'));
            for (body, state) in [(&c.text, state.to_owned()), (&c.html, html_escaped(state))] {
                assert!(body.contains("EA-2026-00042"), "{what}");
                assert!(body.contains("Entreprendre autrement 2026"), "{what}: call");
                assert!(body.contains(&state), "{what}: state « {state} »");
                assert!(
                    body.contains("Et maintenant ?"),
                    "{what}: what happens next"
                );
                assert!(
                    body.contains(&format!("20{NBSP}000,00{NBSP}€")),
                    "{what}: requested amount"
                );
                assert!(body.contains("Métropole Européenne de Lille"), "{what}");
            }
            // Each person's own page (DESIGN.md §10).
            let link = match mail.recipient.audience {
                // Where the beneficiary has a report to write, its form.
                Audience::Applicant
                    if matches!(
                        event,
                        MailEvent::ReportReminder { .. } | MailEvent::ReportChangesRequested { .. }
                    ) =>
                {
                    format!("{LINK}/compte-rendu")
                }
                Audience::Applicant => LINK.to_owned(),
                Audience::Staff => LINK.replace("/candidatures/", "/gestion/candidatures/"),
                Audience::Commune => LINK.replace("/candidatures/", "/commune/candidatures/"),
                Audience::Reviewer => {
                    "https://depot.lillemetropole.fr/evaluations/01936f4e-1111-7000-8000-000000000002"
                        .to_owned()
                }
            };
            assert!(c.text.contains(&link), "{what}: link in text");
            assert!(
                c.html
                    .contains(&format!("href=\"{}\"", html_escaped(&link))),
                "{what}: link in HTML"
            );
            assert!(c.html.starts_with("<!DOCTYPE html>"));
            assert!(c.html.contains("lang=\"fr\""));
            assert!(!c.text.contains("{{") && !c.html.contains("{{"), "{what}");
        }
    }
}

/// What minijinja's HTML escaping makes of a URL in an attribute.
fn html_escaped(s: &str) -> String {
    minijinja::HtmlEscape(s).to_string()
}

#[test]
fn event_specific_content() {
    let n = notifier();
    let one = |name: &str| n.render(&event(name)).unwrap().remove(0).content;

    let submitted = one("submitted");
    assert_eq!(
        submitted.subject,
        "Accusé de réception de votre candidature EA-2026-00042 – Entreprendre autrement 2026"
    );
    // 13:30 UTC on 15 January is 14:30 in Lille.
    assert!(submitted.text.contains("le 15 janvier 2027 à 14 h 30"));
    assert!(submitted.text.contains("Bonjour Jeanne Dupont,"));

    let changes = one("changes_requested");
    assert!(
        changes
            .text
            .contains("Merci de joindre le RIB de la structure.")
    );
    assert!(
        changes
            .html
            .contains("Merci de joindre le RIB de la structure.")
    );

    let ineligible = one("declared_ineligible");
    assert!(ineligible.text.contains("Activité hors du territoire"));
    assert!(ineligible.text.contains("tribunal administratif de Lille"));

    let review = one("review_started");
    assert!(review.text.contains("entre en instruction"));

    let reviewer = one("reviewer_assigned");
    assert!(reviewer.text.contains("Bonjour Camille Martin,"));
    assert!(reviewer.text.contains("conflit d'intérêts"));

    let accepted = one("accepted");
    let awarded = format!("15{NBSP}000,00{NBSP}€");
    assert!(accepted.subject.contains(&awarded), "{}", accepted.subject);
    assert!(
        accepted
            .text
            .contains(&format!("Montant accordé : {awarded}"))
    );
    assert!(accepted.html.contains(&awarded));
    assert!(
        accepted
            .text
            .contains("comité de sélection du 15 janvier 2027")
    );
    assert!(accepted.text.contains("DEL-2027-015"));
    assert!(accepted.text.contains("Projet solide, fort ancrage local."));

    let rejected = one("rejected");
    assert!(
        rejected
            .text
            .contains("Modèle économique insuffisamment étayé.")
    );
    assert!(
        rejected
            .html
            .contains("Modèle économique insuffisamment étayé.")
    );
    assert!(rejected.text.contains("15 janvier 2027"));

    let withdrawn = n.render(&event("withdrawn")).unwrap();
    assert!(withdrawn[0].content.text.contains("Projet reporté."));
    assert!(
        withdrawn[1]
            .content
            .subject
            .contains("retirée par le porteur")
    );
    assert!(withdrawn[1].content.text.contains("porteur@exemple.fr"));

    let staff = &n.render(&event("submitted")).unwrap()[1].content;
    assert!(
        staff
            .subject
            .starts_with("Nouvelle candidature déposée : EA-2026-00042")
    );
    assert!(staff.text.contains("Jeanne Dupont <porteur@exemple.fr>"));
}

#[test]
fn an_empty_withdrawal_reason_leaves_no_empty_heading() {
    let MailEvent::Withdrawn { app, .. } = event("withdrawn") else {
        unreachable!()
    };
    let mails = render(&MailEvent::Withdrawn {
        app,
        reason: "  ".into(),
        was_submitted: false,
    });
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].content.text.contains("Motif"));
    assert!(!mails[0].content.html.contains("Motif"));
}

#[test]
fn html_escapes_what_people_typed_but_text_keeps_it() {
    let MailEvent::ChangesRequested { mut app, .. } = event("changes_requested") else {
        unreachable!()
    };
    app.organisation_name = "Café <Les Amis> & Cie".into();
    let mails = render(&MailEvent::ChangesRequested {
        app,
        message: "Ligne 1 <script>alert(1)</script>\nLigne 2".into(),
    });
    let c = &mails[0].content;
    assert!(!c.html.contains("<script>"));
    assert!(c.html.contains("&lt;script&gt;"));
    assert!(
        c.html
            .contains("Ligne 1 &lt;script&gt;alert(1)&lt;&#x2f;script&gt;<br>\nLigne 2")
    );
    assert!(c.html.contains("Café &lt;Les Amis&gt; &amp; Cie"));
    assert!(
        c.text
            .contains("Ligne 1 <script>alert(1)</script>\nLigne 2")
    );
    assert!(c.text.contains("Café <Les Amis> & Cie"));
}

#[test]
fn amounts_are_french() {
    assert_eq!(amount_fr(2_000_000), format!("20{NBSP}000,00{NBSP}€"));
    assert_eq!(amount_fr(123_456), format!("1{NBSP}234,56{NBSP}€"));
    assert_eq!(amount_fr(5), format!("0,05{NBSP}€"));
}

#[test]
fn an_override_directory_changes_what_is_rendered() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("accepted.subject.txt"),
        "Bonne nouvelle pour {{ organisation_name }} ({{ reference }})",
    )
    .unwrap();
    let s = settings(&[("APP__MAIL__TEMPLATES_DIR", dir.path().to_str().unwrap())]);
    let n = Notifier::new(&s).unwrap();
    let mails = n.render(&event("accepted")).unwrap();
    assert_eq!(
        mails[0].content.subject,
        "Bonne nouvelle pour Les Ateliers du Sart (EA-2026-00042)"
    );
    // The other templates are still the embedded ones.
    assert!(mails[0].content.text.contains("DEL-2027-015"));
}

#[test]
fn a_broken_override_refuses_to_start() {
    let cases = [
        ("accepted.txt", "{{ unknown_variable }}", "unknown_variable"),
        ("rejected.html", "{% if %}", "rejected.html"),
        ("review_started.subject.txt", "   ", "empty subject"),
        (
            "withdrawn_staff.txt",
            "{{ reference | nosuchfilter }}",
            "withdrawn_staff",
        ),
    ];
    for (file, text, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file), text).unwrap();
        let s = settings(&[("APP__MAIL__TEMPLATES_DIR", dir.path().to_str().unwrap())]);
        let err = format!("{:#}", Notifier::new(&s).unwrap_err());
        assert!(err.contains(needle), "{file}: {err}");
    }
}

#[test]
fn message_ids_use_the_sender_domain() {
    let n = notifier();
    assert_eq!(n.message_id_domain, "lillemetropole.fr");
    assert_eq!(
        n.link("x"),
        "https://depot.lillemetropole.fr/candidatures/x"
    );
}

/// Every mail as it is sent, one reviewed snapshot per template and sample event
/// (`src/notify/snapshots/`, as crates.io keeps its mails): a wording, a link or an amount
/// that changes shows in review as a diff of the mail itself. `cargo insta review` accepts a
/// change made on purpose.
mod snapshots {
    use super::*;

    fn shown(r: &templates::Rendered) -> String {
        format!(
            "Subject: {}\n\n--- text ---\n{}\n--- html ---\n{}",
            r.subject, r.text, r.html
        )
    }

    fn to(r: &Recipient) -> String {
        match &r.name {
            Some(name) => format!("{name} <{}>", r.address),
            None => r.address.clone(),
        }
    }

    #[test]
    fn every_mail_of_an_application_event() {
        for event in sample_events() {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for mail in render(&event) {
                // Several staff addresses get the same mail: one snapshot each, numbered.
                let n = seen.entry(mail.recipient.kind.name()).or_default();
                *n += 1;
                insta::assert_snapshot!(
                    format!("{}__{}_{n}", event.name(), mail.recipient.kind.name()),
                    format!("To: {}\n{}", to(&mail.recipient), shown(&mail.content))
                );
            }
        }
    }

    #[test]
    fn every_account_mail() {
        let n = notifier();
        for mail in account::sample_account_mails() {
            let rendered = n.render_account(&mail).unwrap();
            insta::assert_snapshot!(mail.kind().name(), shown(&rendered));
        }
    }

    #[test]
    fn the_referral_and_the_draft_warning() {
        let n = notifier();
        let referral = n.render_referral(&referral::sample_referral()).unwrap();
        insta::assert_snapshot!("referral", shown(&referral));
        let warning = n
            .render_draft_warning(&retention::sample_draft_warning())
            .unwrap();
        insta::assert_snapshot!("draft_expiring", shown(&warning));
    }
}
