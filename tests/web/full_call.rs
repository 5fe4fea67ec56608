//! Issue 15's « done when »: one call from its publication to its exported decisions, through
//! the browser alone, by the three kinds of people (an agent, an applicant, two reviewers), on
//! both databases. The accounts are made by the test helpers (setup); every step after that is
//! a click or a keystroke in Chromium: no API call moves the application. axe-core runs on every
//! page recorded; the clicks of each person are counted and printed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use essor::domain::account::Role;
use fantoccini::Locator;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, PDF, TestApp};

/// One Chromium at a time (the machine's cores are few).
static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// What one person does in the browser: clicks (links, buttons, boxes, radios, a choice in a
/// list, a file chosen) and fields typed into, counted.
#[derive(Default, Clone, Copy)]
struct Effort {
    clicks: usize,
    fields: usize,
}

/// One person's session in their own browser.
struct Session {
    b: Browser,
    effort: Effort,
}

impl Session {
    async fn open(app: &TestApp, label: &str) -> Option<Self> {
        Browser::open(&app.address, label, true)
            .await
            .map(|b| Self {
                b,
                effort: Effort::default(),
            })
    }

    async fn click(&mut self, label: &str) {
        self.effort.clicks += 1;
        self.b.click(label).await;
    }

    async fn press(&mut self, label: &str) {
        self.effort.clicks += 1;
        self.b.press(label).await;
    }

    async fn click_id(&mut self, id: &str) {
        self.effort.clicks += 1;
        self.b.click_id(id).await;
    }

    async fn select(&mut self, id: &str, value: &str) {
        self.effort.clicks += 1;
        self.b.select(id, value).await;
    }

    async fn upload(&mut self, id: &str, path: &std::path::Path) {
        self.effort.clicks += 1;
        self.b.upload(id, path).await;
    }

    async fn fill(&mut self, id: &str, value: &str) {
        self.effort.fields += 1;
        self.b.fill(id, value).await;
    }

    /// Signs in from the header's link: the address, the password, the button.
    async fn sign_in(&mut self, email: &str) {
        self.click("Se connecter").await;
        assert_eq!(self.b.path().await, "/connexion");
        self.fill("email", email).await;
        self.fill("password", PASSWORD).await;
        self.press("Se connecter").await;
        assert!(
            !self.b.path().await.starts_with("/connexion"),
            "{email} signed in"
        );
    }

    /// Closes the browser and adds this session's effort to the person's.
    async fn close(self, totals: &mut BTreeMap<&'static str, Effort>, who: &'static str) {
        let t = totals.entry(who).or_default();
        t.clicks += self.effort.clicks;
        t.fields += self.effort.fields;
        self.b.close().await;
    }
}

fn pdf(dir: &std::path::Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, PDF).unwrap();
    path
}

/// The name of the ranking board's fields for this reference.
fn key(reference: &str) -> String {
    reference
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

const AGENT: &str = "agent@lillemetropole.fr";
const APPLICANT: &str = "jeanne@exemple.fr";
const REVIEWERS: [&str; 2] = ["expert@exemple.fr", "experte2@exemple.fr"];
const TITLE: &str = "Entreprendre autrement 2027";

async fn a_call_runs_from_publication_to_exported_decisions(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("appel-complet-{}", backend_name(&app));
    // Setup: the accounts (an agent, an applicant, three reviewers to choose from).
    app.account(Role::Staff, AGENT).await;
    app.account(Role::Applicant, APPLICANT).await;
    for r in REVIEWERS {
        app.account(Role::Reviewer, r).await;
    }
    app.account(Role::Reviewer, "expert3@exemple.fr").await;
    let mut totals: BTreeMap<&'static str, Effort> = BTreeMap::new();

    // 1. The agent creates the call and publishes it.
    let Some(mut s) = Session::open(&app, &label).await else {
        return;
    };
    s.b.goto("/").await;
    s.sign_in(AGENT).await;
    assert_eq!(s.b.path().await, "/gestion");
    s.b.visit("1-gestion").await;
    s.click("Nouvel appel").await;
    assert_eq!(s.b.h1().await, "Nouvel appel à projets");
    s.b.visit("1-appel-nouveau").await;
    s.fill("title", TITLE).await;
    s.fill(
        "description",
        "Une subvention pour les structures de l'économie sociale et solidaire de la Métropole.",
    )
    .await;
    s.fill("closes_on", "31/12/2027").await;
    s.fill("budget", "200 000").await;
    s.fill("max_award", "20 000").await;
    s.press("Créer l'appel").await;
    let path = s.b.path().await;
    assert!(path.ends_with("/modifier?cree=1"), "created: {path}");
    let call_id = path
        .trim_start_matches("/gestion/appels/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    s.b.visit("1-appel-cree").await;
    s.click("Publier l'appel").await;
    assert_eq!(
        s.b.path().await,
        format!("/gestion/appels/{call_id}/publier")
    );
    s.b.visit("1-appel-publier").await;
    s.press("Publier l'appel").await;
    assert!(s.b.path().await.ends_with("/modifier?publie=1"));
    s.b.visit("1-appel-publie").await;
    s.close(&mut totals, "agent").await;

    // 2. The applicant finds the call, signs in, applies in every step, uploads the
    //    documents and submits.
    let files = tempfile::tempdir().unwrap();
    let Some(mut s) = Session::open(&app, &label).await else {
        return;
    };
    s.b.goto("/").await;
    s.b.visit("2-accueil").await;
    s.sign_in(APPLICANT).await;
    assert_eq!(s.b.path().await, "/candidatures");
    s.b.visit("2-mes-candidatures").await;
    s.click("Appels à projets").await;
    s.b.visit("2-appels").await;
    s.click(TITLE).await;
    assert_eq!(s.b.path().await, format!("/appels/{call_id}"));
    assert!(s.b.body().await.contains("20 000 €"), "the cap is stated");
    s.b.visit("2-appel").await;
    s.click("Candidater à cet appel").await;
    assert_eq!(
        s.b.path().await,
        format!("/appels/{call_id}/candidater/structure")
    );
    s.b.visit("2-etape-1-structure").await;
    // A cooperative company (SAS): ESS by its statutes, not by right, so the agent will have
    // criteria « à vérifier » to read.
    s.fill("name", "Coopérative Épicée").await;
    s.select("legal_form", "commercial_company").await;
    s.fill("siret", "732 829 320 00074").await;
    s.fill("created_on", "01/03/2025").await;
    s.fill("address", "12 rue de Lannoy").await;
    s.fill("postal_code", "59650").await;
    s.fill("commune", "Villeneuve-d'Ascq").await;
    s.fill("employees", "2").await;
    s.click_id("esus-none").await;
    s.click_id("rcs_ess_mention").await;
    s.click_id("in_insolvency_proceedings-non").await;
    s.press("Enregistrer et continuer").await;
    assert_eq!(
        s.b.path().await,
        format!("/appels/{call_id}/candidater/projet")
    );
    s.b.visit("2-etape-2-projet").await;
    s.fill("title", "Recyclerie de quartier").await;
    s.fill(
        "summary",
        "Collecte, réparation et revente d'objets du quotidien.",
    )
    .await;
    s.click_id("stage").await;
    s.fill("activity_commune", "Villeneuve-d'Ascq").await;
    s.fill("total_budget", "90 000").await;
    s.fill("requested", "20 000").await;
    s.fill("starts_on", "15/01/2027").await;
    s.fill("jobs_created", "2").await;
    s.press("Enregistrer et continuer").await;
    assert_eq!(
        s.b.path().await,
        format!("/appels/{call_id}/candidater/criteres")
    );
    s.b.visit("2-etape-3-criteres").await;
    s.click_id("purpose_beyond_profit").await;
    s.click_id("democratic_governance").await;
    s.fill(
        "governance_description",
        "Une personne, une voix en assemblée générale.",
    )
    .await;
    s.fill("reinvested_profit_pct", "60").await;
    s.fill("development_fund_pct", "20").await;
    s.fill("retained_earnings_and_reserves_pct", "50").await;
    s.click_id("impartible_reserves").await;
    s.click_id("no_capital_amortization").await;
    s.click_id("social_utility-social_link").await;
    s.fill(
        "social_utility_statement",
        "Un lieu de rencontre pour le quartier.",
    )
    .await;
    s.press("Enregistrer et continuer").await;
    let path = s.b.path().await;
    assert!(path.ends_with("/pieces?nouvelle=1"), "{path}");
    let application_id = path
        .trim_start_matches("/candidatures/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    s.b.visit("2-etape-4-pieces").await;
    for (kind, name) in [
        ("statuts", "statuts.pdf"),
        ("budget_previsionnel", "budget-2027.pdf"),
        ("rib", "rib.pdf"),
    ] {
        s.select("kind", kind).await;
        s.upload("file", &pdf(files.path(), name)).await;
        s.press("Ajouter ce fichier").await;
        assert!(
            s.b.path()
                .await
                .starts_with(&format!("/candidatures/{application_id}/pieces?ajoutee=")),
            "{name}"
        );
        assert!(s.b.body().await.contains(name), "{name} listed");
    }
    s.b.visit("2-pieces-jointes").await;
    s.click("Voir la pré-vérification d'éligibilité").await;
    assert_eq!(s.b.h1().await, "Pré-vérification d'éligibilité");
    s.b.visit("2-eligibilite").await;
    s.click("Vérifier vos réponses").await;
    assert_eq!(
        s.b.path().await,
        format!("/candidatures/{application_id}/verifier")
    );
    s.b.visit("2-verifier").await;
    s.press("Déposer ma candidature").await;
    let path = s.b.path().await;
    if path != format!("/candidatures/{application_id}/recepisse") {
        panic!("not submitted ({path}): {}", s.b.body().await);
    }
    let reference = s.b.text(".reference").await;
    assert!(reference.starts_with("EA-"), "{reference}");
    s.b.visit("2-recepisse").await;
    s.close(&mut totals, "porteuse").await;

    // 3. The agent screens it from the call's dashboard (the readings of the criteria « à
    //    vérifier ») and starts the review with two reviewers.
    let Some(mut s) = Session::open(&app, &label).await else {
        return;
    };
    s.b.goto("/").await;
    s.sign_in(AGENT).await;
    s.click(TITLE).await;
    assert_eq!(s.b.path().await, format!("/gestion/appels/{call_id}"));
    s.b.visit("3-tableau-de-bord").await;
    s.click("1 candidature déposée à examiner").await;
    s.b.visit("3-candidatures-deposees").await;
    s.click(&reference).await;
    assert_eq!(
        s.b.path().await,
        format!("/gestion/candidatures/{application_id}")
    );
    assert_eq!(s.b.h1().await, format!("Dossier {reference}"));
    s.b.visit("3-dossier").await;
    let mut readings = Vec::new();
    for note in
        s.b.client
            .find_all(Locator::Css("textarea[id^='note-']"))
            .await
            .unwrap()
    {
        let id = note.attr("id").await.unwrap().unwrap();
        readings.push(id.trim_start_matches("note-").to_owned());
    }
    println!("lectures ({}) : {readings:?}", backend_name(&app));
    assert!(
        readings.contains(&"ESS-2".to_owned()),
        "a company's statutes are read: {readings:?}"
    );
    for code in &readings {
        s.click_id(&format!("lecture-{code}")).await;
        s.fill(
            &format!("note-{code}"),
            &format!("Statuts lus, article {code} conforme."),
        )
        .await;
    }
    for email in REVIEWERS {
        let xpath =
            format!("//input[@name='reviewers' and @id=//label[contains(., '{email}')]/@for]");
        let id = match s.b.client.find(Locator::XPath(&xpath)).await {
            Ok(el) => el.attr("id").await.unwrap().unwrap(),
            Err(_) => panic!("no box for {email}: {}", s.b.text("fieldset").await),
        };
        s.click_id(&id).await;
    }
    s.press("Lancer l'évaluation").await;
    assert_eq!(
        s.b.path().await,
        format!("/gestion/candidatures/{application_id}?fait=1"),
        "{}",
        s.b.body().await
    );
    let body = s.b.body().await;
    assert!(body.contains("En cours d'instruction"), "{body}");
    assert!(body.contains("Lecture de l'agent : rempli"), "{body}");
    s.b.visit("3-evaluation-lancee").await;
    s.close(&mut totals, "agent").await;

    // 4. Each reviewer declares no conflict, scores and submits.
    for (n, email) in REVIEWERS.into_iter().enumerate() {
        let Some(mut s) = Session::open(&app, &label).await else {
            return;
        };
        s.b.goto("/").await;
        s.sign_in(email).await;
        if s.b.path().await != "/evaluations" {
            s.click("Évaluations").await;
        }
        assert_eq!(s.b.h1().await, "Mes évaluations");
        s.b.visit(&format!("4-{n}-evaluations")).await;
        s.click("Recyclerie de quartier").await;
        s.b.visit(&format!("4-{n}-a-declarer")).await;
        s.click_id("no_conflict").await;
        s.press("Déclarer et lire le dossier").await;
        assert!(
            s.b.body()
                .await
                .contains("Collecte, réparation et revente d'objets du quotidien."),
            "the application after the declaration"
        );
        s.b.visit(&format!("4-{n}-dossier")).await;
        for (criterion, score) in [
            ("social_utility", 5),
            ("territorial_anchoring", 4),
            ("governance", 5),
            ("economic_viability", 4 - n),
            ("jobs", 3),
        ] {
            s.click_id(&format!("score_{criterion}-{score}")).await;
        }
        s.click_id("recommendation").await;
        s.fill("comment", "Projet ancré dans le quartier, modèle solide.")
            .await;
        s.press("Soumettre l'évaluation").await;
        assert!(
            s.b.path().await.ends_with("/soumettre"),
            "{}: {}",
            s.b.path().await,
            s.b.body().await
        );
        s.b.visit(&format!("4-{n}-confirmation")).await;
        s.press("Confirmer et soumettre").await;
        assert!(
            s.b.path().await.ends_with("?soumise=1"),
            "{}",
            s.b.path().await
        );
        assert!(s.b.body().await.contains("Votre évaluation est soumise"));
        s.b.visit(&format!("4-{n}-soumise")).await;
        s.close(
            &mut totals,
            if n == 0 {
                "evaluateur 1"
            } else {
                "evaluateur 2"
            },
        )
        .await;
    }

    // 5. The agent accepts it on the ranking board and downloads the export.
    let Some(mut s) = Session::open(&app, &label).await else {
        return;
    };
    s.b.goto("/").await;
    s.sign_in(AGENT).await;
    s.click(TITLE).await;
    s.click("1 candidature aux évaluations complètes, à décider")
        .await;
    assert_eq!(
        s.b.path().await,
        format!("/gestion/appels/{call_id}/classement")
    );
    let k = key(&reference);
    assert_eq!(
        s.b.value(&format!("accept-{k}-amount")).await,
        "20000",
        "pre-filled with the largest amount allowed"
    );
    assert!(
        !s.b.value(&format!("accept-{k}-committee_date"))
            .await
            .is_empty(),
        "the committee's date is pre-filled"
    );
    s.b.visit("5-classement").await;
    s.fill(&format!("accept-{k}-decision_reference"), "DEL-2027-031")
        .await;
    s.fill(
        &format!("accept-{k}-motivation"),
        "Projet solide, utile au quartier.",
    )
    .await;
    s.press(&format!("Accepter {reference}")).await;
    s.press(&format!("Confirmer l'acceptation de {reference}"))
        .await;
    assert!(
        s.b.path().await.contains(&format!("?decision={reference}")),
        "{}: {}",
        s.b.path().await,
        s.b.body().await
    );
    assert!(s.b.body().await.contains("Acceptée : 20 000 €"));
    s.b.visit("5-classement-decide").await;
    // The application's page now shows the grant and the award letter, with its digest.
    s.b.goto(&format!("/gestion/candidatures/{application_id}"))
        .await;
    let body = s.b.body().await;
    assert!(body.contains("Arrêté attributif de subvention"), "{body}");
    assert!(body.contains("SHA-256"), "{body}");
    s.b.visit("5-dossier-decide").await;
    s.b.goto(&format!("/gestion/appels/{call_id}/classement"))
        .await;
    s.click("Exporter les candidatures et les décisions").await;
    assert_eq!(
        s.b.path().await,
        format!("/gestion/appels/{call_id}/exports")
    );
    s.b.visit("5-exports").await;
    // The download itself: a click on the link, the file saved by Chromium.
    s.effort.clicks += 1;
    s.b.client
        .find(Locator::XPath(
            "//a[normalize-space(.)='CSV standard (.csv)']",
        ))
        .await
        .expect("the CSV link")
        .click()
        .await
        .expect("click the CSV link");
    let csv = downloaded(&s.b).await;
    let line = csv
        .lines()
        .find(|l| l.contains(&reference))
        .unwrap_or_else(|| panic!("{reference} in the export: {csv}"));
    println!("export: {}\n{line}", csv.lines().next().unwrap_or_default());
    assert!(
        line.contains(",20000.00,20000.00,accepted,"),
        "requested, awarded and state: {line}"
    );
    for needle in ["DEL-2027-031", "Projet solide, utile au quartier."] {
        assert!(line.contains(needle), "« {needle} » in {line}");
    }
    s.close(&mut totals, "agent").await;

    // 6. The applicant finds the award letter on their application's page (« Mon financement »).
    let Some(mut s) = Session::open(&app, &label).await else {
        return;
    };
    s.b.goto("/").await;
    s.sign_in(APPLICANT).await;
    s.b.goto(&format!("/candidatures/{application_id}")).await;
    let body = s.b.body().await;
    assert!(body.contains("Mon financement"), "{body}");
    assert!(body.contains("Le financement est en cours."), "{body}");
    let href =
        s.b.client
            .find(Locator::XPath(
                "//a[normalize-space(.)='Arrêté attributif de subvention']",
            ))
            .await
            .expect("the award letter's link")
            .attr("href")
            .await
            .unwrap()
            .unwrap();
    assert!(href.starts_with("/api/v1/letters/"), "{href}");
    s.b.visit("6-mon-financement").await;
    s.close(&mut totals, "porteuse").await;

    for (who, e) in &totals {
        println!(
            "clics ({}) {who} : {} clics, {} champs saisis",
            backend_name(&app),
            e.clicks,
            e.fields
        );
    }
}

/// Waits (10 s at most) for the browser's download to be complete (no partial file left,
/// the file non-empty and its size steady) and returns it as text.
async fn downloaded(b: &Browser) -> String {
    let mut last: Option<(PathBuf, u64)> = None;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let paths: Vec<PathBuf> = std::fs::read_dir(b.downloads.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        let partial = paths.iter().any(|p| {
            p.extension()
                .is_some_and(|e| e == "crdownload" || e == "tmp")
        });
        let (Some(path), false) = (paths.first(), partial) else {
            last = None;
            continue;
        };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size > 0 && last.as_ref() == Some(&(path.clone(), size)) {
            let bytes = std::fs::read(path).unwrap();
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        last = Some((path.clone(), size));
    }
    panic!("nothing downloaded in {}", b.downloads.path().display());
}

crate::both_backends!(a_call_runs_from_publication_to_exported_decisions);
