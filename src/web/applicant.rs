//! The applicant's pages: « Mes candidatures », the application in steps (structure, projet,
//! critères ESS), its documents, the eligibility pre-check, « vérifiez vos réponses » and the
//! submission, the receipt, the application's page, the withdrawal.
//!
//! Before an application exists the domain cannot hold half of it (a draft has all three
//! sections), so the first two steps are checked by the domain's own validation and kept in
//! the server-side session; the third creates the draft through the service. From then on
//! every step saves into the draft through the same service as the API's `PATCH`.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::{Value, context};
use serde_json::{Map, Value as Json, json};
use validator::Validate;

use crate::auth::session;
use crate::domain::application::{
    ApplicationBody, EssCommitments, Organisation, OrganisationStatus, Project,
};
use crate::domain::application_state::{Action, ApplicationState};
use crate::domain::territory;
use crate::error::{AppError, ServiceError};
use crate::input::multipart::read_document;
use crate::input::{Paging, from_json};
use crate::services::applications::ListFilter;
use crate::services::transitions::{self, Command, WithdrawInput};
use crate::services::{applications, calls, documents, referrals, reviews};
use crate::web::checked_form::{CsrfForm, RefillForm};
use crate::web::forms::{Errors, Form, euros_input, parse_euros};
use crate::web::{PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/candidatures", web::get().to(my_applications))
        .route("/appels/{id}/candidater", web::get().to(start))
        .route(
            "/appels/{id}/candidater/{step}",
            web::get().to(new_step_form),
        )
        .route(
            "/appels/{id}/candidater/{step}",
            web::post().to(new_step_save),
        )
        .route(
            "/appels/{id}/candidater/{step}/pre-verification",
            web::post().to(new_step_precheck),
        )
        .route(
            "/candidatures/{id}/modifier/{step}/pre-verification",
            web::post().to(edit_step_precheck),
        )
        .route("/candidatures/{id}", web::get().to(application_page))
        .route(
            "/candidatures/{id}/modifier/{step}",
            web::get().to(edit_step_form),
        )
        .route(
            "/candidatures/{id}/modifier/{step}",
            web::post().to(edit_step_save),
        )
        .route("/candidatures/{id}/pieces", web::get().to(documents_page))
        .route("/candidatures/{id}/pieces", web::post().to(upload))
        .route(
            "/candidatures/{id}/pieces/{doc}/supprimer",
            web::post().to(delete_document),
        )
        .route(
            "/candidatures/{id}/eligibilite",
            web::get().to(eligibility_page),
        )
        .route("/candidatures/{id}/verifier", web::get().to(check_page))
        .route("/candidatures/{id}/deposer", web::post().to(submit))
        .route("/candidatures/{id}/recepisse", web::get().to(receipt))
        .route("/candidatures/{id}/retirer", web::get().to(withdraw_form))
        .route("/candidatures/{id}/retirer", web::post().to(withdraw))
        .route("/candidatures/{id}/convention", web::get().to(sign_form))
        .route("/candidatures/{id}/convention", web::post().to(sign))
        .route(
            "/candidatures/{id}/coordonnees-bancaires",
            web::get().to(bank_form),
        )
        .route(
            "/candidatures/{id}/coordonnees-bancaires",
            web::post().to(bank_save),
        );
}

/// The three steps of the form, in order: URL segment, section of the body, template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Organisation,
    Project,
    Ess,
}

impl Step {
    const ALL: [Step; 3] = [Step::Organisation, Step::Project, Step::Ess];

    fn parse(s: &str) -> Result<Self, WebError> {
        Self::ALL
            .into_iter()
            .find(|st| st.slug() == s)
            .ok_or_else(|| WebError::from(AppError::not_found("Cette étape n'existe pas.")))
    }

    fn slug(self) -> &'static str {
        match self {
            Self::Organisation => "structure",
            Self::Project => "projet",
            Self::Ess => "criteres",
        }
    }

    fn section(self) -> &'static str {
        match self {
            Self::Organisation => "organisation",
            Self::Project => "project",
            Self::Ess => "ess",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Self::Organisation => "step_organisation.html",
            Self::Project => "step_project.html",
            Self::Ess => "step_ess.html",
        }
    }

    fn number(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    fn next(self) -> Option<Step> {
        Self::ALL.get(self.number()).copied()
    }

    /// The form's field names in page order (for the error summary).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Organisation => &[
                "status",
                "name",
                "legal_form",
                "holder_name",
                "host_siret",
                "host_name",
                "siret",
                "rna",
                "created_on",
                "address",
                "postal_code",
                "commune",
                "employees",
                "esus",
                "insertion_structure",
                "rcs_ess_mention",
                "in_insolvency_proceedings",
            ],
            Self::Project => &[
                "title",
                "summary",
                "stage",
                "activity_commune",
                "other_communes",
                "total_budget",
                "requested",
                "starts_on",
                "jobs_created",
            ],
            Self::Ess => &[
                "purpose_beyond_profit",
                "democratic_governance",
                "governance_description",
                "reinvested_profit_pct",
                "development_fund_pct",
                "retained_earnings_and_reserves_pct",
                "impartible_reserves",
                "no_capital_amortization",
                "social_utility",
                "social_utility_statement",
                "top5_avg_pay_smic_ratio",
                "top_pay_smic_ratio",
            ],
        }
    }

    /// The form field showing a body field's error.
    fn field_of(self, path: &str) -> Option<String> {
        let path = path
            .strip_prefix(&format!("{}.", self.section()))
            .unwrap_or(path);
        let path = path.split(['[', '.']).next().unwrap_or(path);
        let name = match path {
            "commune_insee" => "commune",
            "activity_communes" => "activity_commune",
            "total_budget_cents" => "total_budget",
            "requested_cents" => "requested",
            other => other,
        };
        self.fields().contains(&name).then(|| name.to_owned())
    }
}

// ---------------------------------------------------------------------------------------------
// Form <-> body section

/// A yes/no question; the message names the question, so that two of them in the error
/// summary can be told apart.
fn yes_no(form: &Form, name: &str, errors: &mut Errors) -> Json {
    match form.get(name) {
        "oui" => Json::Bool(true),
        "non" => Json::Bool(false),
        _ => {
            errors.add(
                name,
                format!("{} : répondez par oui ou par non", yes_no_subject(name)),
            );
            Json::Null
        }
    }
}

/// The short name of a yes/no question, as the error summary says it.
fn yes_no_subject(name: &str) -> &'static str {
    match name {
        "rcs_ess_mention" => "mention « économie sociale et solidaire » au registre du commerce",
        "in_insolvency_proceedings" => "procédure collective",
        "purpose_beyond_profit" => "but autre que le seul partage des bénéfices",
        "democratic_governance" => "gouvernance démocratique",
        "impartible_reserves" => "réserves obligatoires impartageables",
        "no_capital_amortization" => "pas d'amortissement ni de réduction du capital",
        _ => "cette question",
    }
}

/// A commune field: empty, a commune of the Métropole (its INSEE code), or a name that is
/// not one (said as such, not as if nothing had been typed).
fn commune_field(form: &Form, name: &str, empty: &str, errors: &mut Errors) -> Option<String> {
    let typed = form.get(name);
    match commune_code(typed) {
        Some(code) => Some(code),
        None if typed.is_empty() => {
            errors.add(name, empty);
            None
        }
        None => {
            errors.add(
                name,
                format!("« {typed} » n'est pas une commune de la Métropole : tapez le nom d'une de ses 95 communes, par exemple Roubaix"),
            );
            None
        }
    }
}

fn choice(form: &Form, name: &str, allowed: &[&str], message: &str, errors: &mut Errors) -> Json {
    let v = form.get(name);
    if allowed.contains(&v) {
        Json::from(v)
    } else {
        errors.add(name, message);
        Json::Null
    }
}

/// « 01/03/2025 » (or « 1/3/2025 », « 01.03.2025 », « 2025-03-01 »): a text field, as tested
/// public services advise, rather than the browsers' date pickers.
pub(crate) fn parse_date(input: &str) -> Option<chrono::NaiveDate> {
    let input = input.trim().replace(['.', '-', ' '], "/");
    let parts: Vec<&str> = input.split('/').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    if y.len() != 4 {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

fn date(form: &Form, name: &str, errors: &mut Errors) -> Json {
    match parse_date(form.get(name)) {
        Some(d) => Json::from(d.to_string()),
        None => {
            errors.add(
                name,
                "indiquez une date réelle sous la forme jour/mois/année, par exemple 01/03/2025",
            );
            Json::Null
        }
    }
}

fn whole(form: &Form, name: &str, errors: &mut Errors) -> Json {
    match form.get(name).replace([' ', '\u{202f}'], "").parse::<u32>() {
        Ok(n) => Json::from(n),
        Err(_) => {
            errors.add(name, "indiquez un nombre entier, 0 s'il n'y en a pas");
            Json::Null
        }
    }
}

fn optional_pct(form: &Form, name: &str, errors: &mut Errors) -> Json {
    match form.opt(name) {
        None => Json::Null,
        Some(v) => match v.trim_end_matches('%').trim().parse::<u8>() {
            Ok(n) => Json::from(n),
            Err(_) => {
                errors.add(
                    name,
                    "indiquez un pourcentage entre 0 et 100, ou laissez vide",
                );
                Json::Null
            }
        },
    }
}

fn optional_ratio(form: &Form, name: &str, errors: &mut Errors) -> Json {
    match form.opt(name) {
        None => Json::Null,
        Some(v) => match v.replace(',', ".").parse::<f64>() {
            Ok(n) if n.is_finite() => Json::from(n),
            _ => {
                errors.add(name, "indiquez un nombre, par exemple 3,5, ou laissez vide");
                Json::Null
            }
        },
    }
}

fn amount(form: &Form, name: &str, errors: &mut Errors) -> Json {
    match parse_euros(form.get(name)) {
        Some(c) => Json::from(c),
        None => {
            errors.add(name, "indiquez un montant en euros, par exemple 20 000");
            Json::Null
        }
    }
}

fn fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
                'î' | 'ï' => 'i',
                'ô' | 'ö' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' => 'c',
                '-' | '\'' | '’' => ' ',
                c => c,
            };
            (!c.is_whitespace() || c == ' ').then(|| c.to_ascii_lowercase())
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A commune typed by name (or INSEE code) → its INSEE code. Names are the MEL's communes;
/// a five-character code is passed on for the domain to judge.
fn commune_code(input: &str) -> Option<String> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    // A code typed as such (« 59350 », « 2A004 »): the domain judges it.
    let looks_like_code = |s: &str| {
        s.len() == 5
            && s.chars().skip(2).all(|c| c.is_ascii_digit())
            && (s[..2].chars().all(|c| c.is_ascii_digit())
                || matches!(&s[..2], "2A" | "2B" | "2a" | "2b"))
    };
    if looks_like_code(input) {
        return Some(input.to_uppercase());
    }
    let wanted = fold(input);
    territory::mel_communes()
        .iter()
        .find(|c| fold(&c.name) == wanted)
        .map(|c| c.insee.clone())
}

fn commune_label(code: &str) -> String {
    territory::commune_name(code)
        .map(str::to_owned)
        .unwrap_or_else(|| code.to_owned())
}

/// Reads one step's form into its body section; type errors (a word where a number goes)
/// are the form's own, every rule is the domain's.
fn section_from_form(step: Step, form: &Form, today: chrono::NaiveDate) -> (Json, Errors) {
    let mut e = Errors::default();
    let mut m = Map::new();
    match step {
        Step::Organisation => {
            // « Votre structure existe-t-elle déjà ? » first (§16); only the fields of the
            // answer are read, whatever the others hold (hidden by the page's style).
            let status = match form.opt("status") {
                None => Some(OrganisationStatus::Registered),
                Some(s) => OrganisationStatus::parse(s),
            };
            if status.is_none() {
                e.add("status", "dites si la structure existe déjà");
            }
            let status = status.unwrap_or_default();
            m.insert("status".into(), status.as_str().into());
            m.insert("name".into(), form.get("name").into());
            let text = |name: &str| -> Json { form.opt(name).map(str::trim).into() };
            let (holder, host_siret, host_name) = match status {
                OrganisationStatus::Registered => (Json::Null, Json::Null, Json::Null),
                OrganisationStatus::InCreation => (text("holder_name"), Json::Null, Json::Null),
                OrganisationStatus::Hosted => (
                    text("holder_name"),
                    form.opt("host_siret").map(|s| s.replace(' ', "")).into(),
                    text("host_name"),
                ),
            };
            m.insert("holder_name".into(), holder);
            m.insert("host_siret".into(), host_siret);
            m.insert("host_name".into(), host_name);
            m.insert(
                "legal_form".into(),
                choice(
                    form,
                    "legal_form",
                    &[
                        "association",
                        "local_law_association",
                        "foundation",
                        "mutual",
                        "cooperative",
                        "commercial_company",
                        "sole_proprietorship",
                        "other",
                    ],
                    "choisissez la forme juridique de la structure",
                    &mut e,
                ),
            );
            if status == OrganisationStatus::Registered {
                m.insert(
                    "siret".into(),
                    form.opt("siret").map(|s| s.replace(' ', "")).into(),
                );
                m.insert("rna".into(), form.opt("rna").map(str::to_uppercase).into());
                let created_on = date(form, "created_on", &mut e);
                if created_on
                    .as_str()
                    .and_then(parse_date)
                    .is_some_and(|d| d > today)
                {
                    e.add(
                        "created_on",
                        "la date de création ne peut pas être dans le futur : indiquez celle de la déclaration ou de l'immatriculation, ou dites que la structure est en création",
                    );
                }
                m.insert("created_on".into(), created_on);
            } else {
                m.insert("siret".into(), Json::Null);
                m.insert("rna".into(), Json::Null);
                m.insert("created_on".into(), Json::Null);
            }
            m.insert("address".into(), form.get("address").into());
            m.insert("postal_code".into(), form.get("postal_code").into());
            m.insert(
                "commune_insee".into(),
                commune_field(
                    form,
                    "commune",
                    "indiquez la commune du siège, par exemple Roubaix",
                    &mut e,
                )
                .into(),
            );
            m.insert("employees".into(), whole(form, "employees", &mut e));
            m.insert(
                "esus".into(),
                choice(
                    form,
                    "esus",
                    &["approved", "pending", "none"],
                    "dites si la structure a l'agrément ESUS",
                    &mut e,
                ),
            );
            m.insert(
                "insertion_structure".into(),
                match form.opt("insertion_structure") {
                    None => Json::Null,
                    Some(_) => choice(
                        form,
                        "insertion_structure",
                        &["ei", "etti", "ai", "aci", "ea"],
                        "choisissez un type de structure d'insertion, ou « aucune »",
                        &mut e,
                    ),
                },
            );
            m.insert(
                "rcs_ess_mention".into(),
                yes_no(form, "rcs_ess_mention", &mut e),
            );
            m.insert(
                "in_insolvency_proceedings".into(),
                yes_no(form, "in_insolvency_proceedings", &mut e),
            );
        }
        Step::Project => {
            m.insert("title".into(), form.get("title").into());
            m.insert("summary".into(), form.get("summary").into());
            m.insert(
                "stage".into(),
                choice(
                    form,
                    "stage",
                    &["startup", "development"],
                    "dites si le projet démarre ou se développe",
                    &mut e,
                ),
            );
            let mut communes = Vec::new();
            if let Some(c) = commune_field(
                form,
                "activity_commune",
                "indiquez la commune où l'activité aura lieu",
                &mut e,
            ) {
                communes.push(c);
            }
            for other in form.get("other_communes").split([',', ';']) {
                if other.trim().is_empty() {
                    continue;
                }
                match commune_code(other) {
                    Some(c) if !communes.contains(&c) => communes.push(c),
                    Some(_) => {}
                    None => e.add(
                        "other_communes",
                        format!(
                            "« {} » n'est pas une commune connue de la Métropole",
                            other.trim()
                        ),
                    ),
                }
            }
            m.insert("activity_communes".into(), json!(communes));
            m.insert(
                "total_budget_cents".into(),
                amount(form, "total_budget", &mut e),
            );
            m.insert("requested_cents".into(), amount(form, "requested", &mut e));
            m.insert("starts_on".into(), date(form, "starts_on", &mut e));
            m.insert("jobs_created".into(), whole(form, "jobs_created", &mut e));
        }
        Step::Ess => {
            m.insert(
                "purpose_beyond_profit".into(),
                yes_no(form, "purpose_beyond_profit", &mut e),
            );
            m.insert(
                "democratic_governance".into(),
                yes_no(form, "democratic_governance", &mut e),
            );
            m.insert(
                "governance_description".into(),
                form.get("governance_description").into(),
            );
            for pct in [
                "reinvested_profit_pct",
                "development_fund_pct",
                "retained_earnings_and_reserves_pct",
            ] {
                m.insert(pct.into(), optional_pct(form, pct, &mut e));
            }
            m.insert(
                "impartible_reserves".into(),
                yes_no(form, "impartible_reserves", &mut e),
            );
            m.insert(
                "no_capital_amortization".into(),
                yes_no(form, "no_capital_amortization", &mut e),
            );
            let allowed = [
                "fragile_people",
                "social_link",
                "citizenship_education",
                "sustainable_development",
            ];
            let utility: Vec<String> = form.all("social_utility");
            if utility.iter().any(|u| !allowed.contains(&u.as_str())) {
                e.add("social_utility", "choisissez parmi les objectifs proposés");
            }
            m.insert("social_utility".into(), json!(utility));
            m.insert(
                "social_utility_statement".into(),
                form.get("social_utility_statement").into(),
            );
            for r in ["top5_avg_pay_smic_ratio", "top_pay_smic_ratio"] {
                m.insert(r.into(), optional_ratio(form, r, &mut e));
            }
        }
    }
    (Json::Object(m), e)
}

/// Reads one step's form in one pass: the form's own errors and the domain's checks of every
/// other field together (a field the form could not read is given a valid stand-in for the
/// domain's checks, and keeps the form's message).
fn read_step(
    step: Step,
    form: &Form,
    today: chrono::NaiveDate,
) -> Result<(Json, Errors), WebError> {
    let (section, mut errors) = section_from_form(step, form, today);
    let mut checked = section.clone();
    if let Some(obj) = checked.as_object_mut() {
        for (key, value) in obj.iter_mut() {
            // Only where the form could not read what was typed: a null the answer asks for
            // (no creation date in creation, §16) is the domain's to judge.
            let unreadable = step
                .field_of(key)
                .is_some_and(|f| errors.fields.contains_key(&f));
            if value.is_null()
                && unreadable
                && let Some(stand_in) = stand_in(key)
            {
                *value = stand_in;
            }
        }
    }
    if let Err(e) = validate_section(step, checked) {
        let domain = Errors::from_service(e, |p| step.field_of(p), step.fields()[0])?;
        for (field, message) in domain.summary {
            errors.add(&field, message);
        }
    }
    Ok((section, errors.ordered(step.fields())))
}

/// A valid value for a required field the form could not read (only for the domain's checks
/// of the other fields; never stored).
fn stand_in(key: &str) -> Option<Json> {
    Some(match key {
        "legal_form" => json!("association"),
        "created_on" | "starts_on" => json!("2000-01-01"),
        "commune_insee" => json!("59350"),
        "employees" | "jobs_created" | "total_budget_cents" | "requested_cents" => json!(0),
        "esus" => json!("none"),
        "stage" => json!("startup"),
        "rcs_ess_mention"
        | "in_insolvency_proceedings"
        | "purpose_beyond_profit"
        | "democratic_governance"
        | "impartible_reserves"
        | "no_capital_amortization" => json!(false),
        _ => return None,
    })
}

/// The domain's checks of one section alone (the same messages as the API's 422).
fn validate_section(step: Step, section: Json) -> Result<(), ServiceError> {
    match step {
        Step::Organisation => {
            applications::check_organisation(&from_json::<Organisation>(section)?)?
        }
        Step::Project => from_json::<Project>(section)?.validate()?,
        Step::Ess => from_json::<EssCommitments>(section)?.validate()?,
    }
    Ok(())
}

/// A stored section → the values its form shows.
fn form_values(step: Step, section: &Json) -> Map<String, Json> {
    let mut out = Map::new();
    let Some(obj) = section.as_object() else {
        return out;
    };
    for (k, v) in obj {
        let shown = match (k.as_str(), v) {
            ("commune_insee", Json::String(code)) => {
                out.insert("commune".into(), commune_label(code).into());
                continue;
            }
            ("activity_communes", Json::Array(codes)) => {
                let names: Vec<String> = codes
                    .iter()
                    .filter_map(Json::as_str)
                    .map(commune_label)
                    .collect();
                out.insert(
                    "activity_commune".into(),
                    names.first().cloned().unwrap_or_default().into(),
                );
                out.insert(
                    "other_communes".into(),
                    names.get(1..).unwrap_or(&[]).join(", ").into(),
                );
                continue;
            }
            ("total_budget_cents", Json::Number(n)) => {
                out.insert(
                    "total_budget".into(),
                    euros_input(n.as_i64().unwrap_or(0)).into(),
                );
                continue;
            }
            ("requested_cents", Json::Number(n)) => {
                out.insert(
                    "requested".into(),
                    euros_input(n.as_i64().unwrap_or(0)).into(),
                );
                continue;
            }
            ("created_on" | "starts_on", Json::String(iso)) => Json::from(
                chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
                    .map(|d| d.format("%d/%m/%Y").to_string())
                    .unwrap_or_else(|_| iso.clone()),
            ),
            (_, Json::Bool(b)) => Json::from(if *b { "oui" } else { "non" }),
            (_, Json::Number(n)) => Json::from(n.to_string().replace('.', ",")),
            (_, Json::Null) => Json::from(""),
            (_, other) => other.clone(),
        };
        out.insert(k.clone(), shown);
    }
    let _ = step;
    out
}

fn communes_for_datalist() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = territory::mel_communes()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    names.sort_by_key(|n| fold(n));
    names
}

// ---------------------------------------------------------------------------------------------
// Pages

async fn my_applications(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let page = applications::list(
        &ctx.state,
        &user,
        ListFilter::default(),
        Paging {
            page: 1,
            per_page: 100,
        },
    )
    .await?;
    let welcome = ctx.req.query_string().contains("bienvenue=1");
    ctx.render(
        "applications.html",
        context! { applications => ser(&page.items), welcome },
    )
}

/// « Candidater »: a new application starts empty, whatever an abandoned attempt left in
/// the session (the steps' « Retour » links go to the steps themselves and keep it).
async fn start(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let call_id = id.into_inner();
    // A commune's referral code (§16), checked now: a known one is kept for the creation, an
    // unknown one is said on the first step and dropped.
    let mut refused = false;
    let referral = match ctx.query_value("recommandation") {
        Some(code) => {
            match referrals::check_code(
                &ctx.state,
                code.clone(),
                crate::services::calls::id(&call_id)?,
            )
            .await
            {
                Ok(commune) => Some(json!({"code": code, "commune": commune})),
                Err(ServiceError::Invalid { .. }) => {
                    refused = true;
                    None
                }
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    if let Ok(session) = ctx.session() {
        let key = draft_key(&call_id);
        let referral_key = referral_key(&call_id);
        if session.data.get(&key).is_some()
            || session.data.get(&referral_key).is_some()
            || referral.is_some()
        {
            let mut data = session.data.clone();
            if let Some(obj) = data.as_object_mut() {
                obj.remove(&key);
                obj.remove(&referral_key);
                if let Some(r) = referral {
                    obj.insert(referral_key, r);
                }
            }
            session::save_data(&ctx.state, session.id_hash.clone(), data).await?;
        }
    }
    Ok(see_other(&format!(
        "/appels/{call_id}/candidater/structure{}",
        if refused { "?code_inconnu=1" } else { "" }
    )))
}

/// The session key of a commune's referral kept for a new application to `call_id`.
fn referral_key(call_id: &str) -> String {
    format!("referral:{call_id}")
}

/// The session key of the steps of a new application to call `call_id`.
fn draft_key(call_id: &str) -> String {
    format!("new:{call_id}")
}

async fn new_step_form(
    ctx: PageCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (call_id, step) = path.into_inner();
    let step = Step::parse(&step)?;
    ctx.user()?;
    let call = calls::get(&ctx.state, false, crate::services::calls::id(&call_id)?).await?;
    let session = ctx.session()?;
    let draft = session
        .data
        .get(draft_key(&call_id))
        .cloned()
        .unwrap_or(json!({}));
    // A later step needs the earlier ones (JavaScript off or a typed URL).
    if let Some(missing) = Step::ALL
        .into_iter()
        .take(step.number() - 1)
        .find(|s| draft.get(s.section()).is_none())
    {
        return Ok(see_other(&format!(
            "/appels/{call_id}/candidater/{}",
            missing.slug()
        )));
    }
    let values = draft
        .get(step.section())
        .map(|s| form_values(step, s))
        .unwrap_or_default();
    render_step(
        &ctx,
        step,
        &call,
        None,
        values,
        Errors::default(),
        StatusCode::OK,
    )
}

fn render_step(
    ctx: &PageCtx,
    step: Step,
    call: &calls::Call,
    application: Option<&applications::Application>,
    values: Map<String, Json>,
    errors: Errors,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    render_step_with(ctx, step, call, application, values, errors, status, None)
}

/// `render_step` with what the companies' register said of the SIRET (step 1's « Vérifier »).
#[allow(clippy::too_many_arguments)]
fn render_step_with(
    ctx: &PageCtx,
    step: Step,
    call: &calls::Call,
    application: Option<&applications::Application>,
    values: Map<String, Json>,
    errors: Errors,
    status: StatusCode,
    registry_notice: Option<Vec<String>>,
) -> Result<HttpResponse, WebError> {
    let action = match application {
        Some(a) => format!("/candidatures/{}/modifier/{}", a.id, step.slug()),
        None => format!("/appels/{}/candidater/{}", call.id, step.slug()),
    };
    let back = match (step.number(), application) {
        (1, Some(a)) => format!("/candidatures/{}", a.id),
        (1, None) => format!("/appels/{}", call.id),
        (n, Some(a)) => format!(
            "/candidatures/{}/modifier/{}",
            a.id,
            Step::ALL[n - 2].slug()
        ),
        (n, None) => format!("/appels/{}/candidater/{}", call.id, Step::ALL[n - 2].slug()),
    };
    // A commune's referral kept for the new application, or a code that was refused (§16).
    let referral_commune = match application {
        None => ctx.session().ok().and_then(|s| {
            s.data
                .get(referral_key(call.id.as_str()))
                .and_then(|r| r.get("commune"))
                .and_then(Json::as_str)
                .map(str::to_owned)
        }),
        Some(_) => None,
    }
    .map(|c| crate::domain::territory::of_commune(&c));
    let referral_refused = application.is_none() && ctx.query_value("code_inconnu").is_some();
    ctx.render_status(
        status,
        step.template(),
        context! {
            call => ser(call),
            application => ser(&application),
            step => step.number(),
            steps => 4,
            action,
            back,
            values => ser(&values),
            errors => ser(&errors),
            communes => communes_for_datalist(),
            labels => crate::web::labels::answer_labels(),
            // MEL-5 reads the structure's age, not the activity's: the step says so.
            startup_years => crate::domain::eligibility::RuleSet::find(&call.rules_version)
                .map(|r| r.startup_max_age_years),
            referral_commune,
            referral_refused,
            registry_enabled => ctx.state.registry.is_some(),
            registry_notice,
        },
    )
}

/// Step 1's « Vérifier avec le numéro SIRET » (a submit button, so it works without
/// JavaScript): the form comes back with the name, legal form and head office the register
/// gives, for the holder to confirm and save; nothing is saved. What the register cannot say
/// is said beside the SIRET field and the form keeps what was typed.
async fn verify_siret(
    ctx: &PageCtx,
    step: Step,
    call: &calls::Call,
    application: Option<&applications::Application>,
    form: &Form,
    refused: Errors,
) -> Result<HttpResponse, WebError> {
    let mut values = values_of(form);
    if !refused.is_empty() {
        return render_step(
            ctx,
            step,
            call,
            application,
            values,
            refused,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let siret = form.get("siret").trim().to_owned();
    let mut errors = Errors::default();
    if siret.is_empty() {
        errors.add(
            "siret",
            "Saisissez le numéro SIRET à vérifier (14 chiffres).",
        );
    } else {
        match crate::services::registry::lookup(&ctx.state, &siret).await {
            Ok(record) => {
                let notice = fill_from_registry(&mut values, &record);
                return render_step_with(
                    ctx,
                    step,
                    call,
                    application,
                    values,
                    Errors::default(),
                    StatusCode::OK,
                    Some(notice),
                );
            }
            Err(
                e @ (ServiceError::NotFound(_)
                | ServiceError::Upstream(_)
                | ServiceError::Invalid { .. }),
            ) => errors.add("siret", e.message()),
            Err(e) => return Err(e.into()),
        }
    }
    render_step(
        ctx,
        step,
        call,
        application,
        values,
        errors.ordered(step.fields()),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

/// Puts what the register says into the form's values; returns the sentences that say so.
fn fill_from_registry(
    values: &mut Map<String, Json>,
    record: &crate::domain::registry::RegistryRecord,
) -> Vec<String> {
    let mut said = Vec::new();
    let mut set = |key: &str, value: &str| {
        values.insert(key.to_owned(), Json::String(value.to_owned()));
    };
    set("status", "registered");
    set("siret", &record.siret);
    match &record.name {
        Some(name) => {
            set("name", name);
            said.push(format!("Nom : {name}."));
        }
        None => said.push(
            "Le registre ne diffuse pas le nom de cette structure : saisissez-le.".to_owned(),
        ),
    }
    if let Some(form) = record
        .legal_form_code
        .as_deref()
        .map(crate::domain::registry::plausible_forms)
        .filter(|forms| forms.len() <= 2)
        .and_then(|forms| forms.first())
    {
        if let Ok(Json::String(code)) = serde_json::to_value(form) {
            set("legal_form", &code);
        }
        said.push(format!("Forme juridique : {}.", form.label_fr()));
    }
    if let Some(rna) = &record.rna {
        set("rna", rna);
    }
    let office = &record.head_office;
    if let Some(address) = &office.address {
        set("address", address);
    }
    if let Some(postal_code) = &office.postal_code {
        set("postal_code", postal_code);
    }
    let commune = office
        .commune_insee
        .as_deref()
        .and_then(territory::mel_commune);
    match (commune, &office.commune) {
        (Some(c), _) => {
            set("commune", &c.name);
            said.push(format!(
                "Siège : {} {} {}.",
                office.address.as_deref().unwrap_or(""),
                office.postal_code.as_deref().unwrap_or(""),
                c.name
            ));
        }
        (None, Some(name)) => {
            set("commune", name);
            said.push(format!(
                "Siège : {name}, hors de la Métropole européenne de Lille."
            ));
        }
        (None, None) => {}
    }
    if !record.active {
        said.push("Attention : cet établissement est fermé au registre.".to_owned());
    }
    said
}

async fn new_step_save(
    ctx: PageCtx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let (call_id, step) = path.into_inner();
    let step = Step::parse(&step)?;
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    let user = ctx.user()?;
    let call = calls::get(&ctx.state, false, crate::services::calls::id(&call_id)?).await?;
    if step == Step::Organisation && form.opt("verifier_siret").is_some() {
        return verify_siret(&ctx, step, &call, None, &form, refused).await;
    }
    let session = ctx.session()?;
    let (section, errors) = read_step(step, &form, ctx.state.clock.paris_today())?;
    let errors = refused.and(errors);
    if !errors.is_empty() {
        return render_step(
            &ctx,
            step,
            &call,
            None,
            values_of(&form),
            errors.ordered(step.fields()),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let mut data = session.data.clone();
    let key = draft_key(&call_id);
    let mut draft = data.get(&key).cloned().unwrap_or(json!({}));
    draft[step.section()] = section;
    if let Some(next) = step.next() {
        data[&key] = draft;
        session::save_data(&ctx.state, session.id_hash.clone(), data).await?;
        return Ok(see_other(&format!(
            "/appels/{call_id}/candidater/{}",
            next.slug()
        )));
    }
    // Last step: the draft is created with the three sections.
    // The typed body the service takes, read as the API reads it (field paths in errors).
    let organisation = draft["organisation"].clone();
    let referral = data
        .get(referral_key(&call_id))
        .and_then(|r| r.get("code"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    let created = match from_json::<ApplicationBody>(draft) {
        Ok(body) => {
            applications::create(
                &ctx.state,
                &user,
                crate::services::calls::id(&call_id)?,
                body,
                referral,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(app) => {
            if let Some(obj) = data.as_object_mut() {
                obj.remove(&key);
                obj.remove(&referral_key(&call_id));
            }
            session::save_data(&ctx.state, session.id_hash.clone(), data).await?;
            Ok(see_other(&format!(
                "/candidatures/{}/pieces?nouvelle=1",
                app.id
            )))
        }
        Err(ServiceError::Invalid { fields, .. }) => {
            let errors = Errors::from_fields(&fields, |p| step.field_of(p), step.fields()[0]);
            render_step(
                &ctx,
                step,
                &call,
                None,
                values_of(&form),
                errors.ordered(step.fields()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        // The structure already has an application to this call: said beside its SIRET (or
        // RNA), on the organisation's step, with the answers kept in the session.
        Err(e @ ServiceError::Conflict { .. }) => {
            let first = Step::Organisation;
            let errors = Errors::from_service(e, |p| first.field_of(p), first.fields()[0])?;
            render_step(
                &ctx,
                first,
                &call,
                None,
                form_values(first, &organisation),
                errors.ordered(first.fields()),
                StatusCode::CONFLICT,
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn values_of(form: &Form) -> Map<String, Json> {
    form.values()
}

async fn load(ctx: &PageCtx, id: String) -> Result<applications::Application, WebError> {
    let user = ctx.user()?;
    Ok(applications::get(&ctx.state, &user, crate::services::applications::id(&id)?).await?)
}

async fn edit_step_form(
    ctx: PageCtx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (id, step) = path.into_inner();
    let step = Step::parse(&step)?;
    let app = load(&ctx, id).await?;
    let call = calls::get(&ctx.state, false, app.call_id.clone()).await?;
    let body = json!({
        "organisation": app.organisation,
        "project": app.project,
        "ess": app.ess,
    });
    let values = form_values(step, &body[step.section()]);
    render_step(
        &ctx,
        step,
        &call,
        Some(&app),
        values,
        Errors::default(),
        StatusCode::OK,
    )
}

async fn edit_step_save(
    ctx: PageCtx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let (id, step) = path.into_inner();
    let step = Step::parse(&step)?;
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    let user = ctx.user()?;
    let app = load(&ctx, id.clone()).await?;
    let call = calls::get(&ctx.state, false, app.call_id.clone()).await?;
    if step == Step::Organisation && form.opt("verifier_siret").is_some() {
        return verify_siret(&ctx, step, &call, Some(&app), &form, refused).await;
    }
    let (section, errors) = read_step(step, &form, ctx.state.clock.paris_today())?;
    let errors = refused.and(errors);
    let version = form.get("version").parse::<i32>().ok();
    let errors = if errors.is_empty() {
        let patch = json!({ step.section(): section });
        match applications::update(
            &ctx.state,
            &user,
            crate::services::applications::id(&id)?,
            version,
            patch,
        )
        .await
        {
            Ok(_) => {
                let next = match step.next() {
                    Some(n) => format!("/candidatures/{id}/modifier/{}", n.slug()),
                    None => format!("/candidatures/{id}/pieces"),
                };
                return Ok(see_other(&next));
            }
            Err(e) => Errors::from_service(e, |p| step.field_of(p), step.fields()[0])?,
        }
    } else {
        errors
    };
    render_step(
        &ctx,
        step,
        &call,
        Some(&app),
        values_of(&form),
        errors.ordered(step.fields()),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

/// The live pre-check (JavaScript only): the eligibility of the answers being typed, with
/// the other sections as saved, from the organisation's section on. 204 while the answers
/// cannot be read yet.
async fn precheck_answer(
    ctx: &PageCtx,
    form: &Form,
    step: Step,
    call_id: String,
    mut body: Json,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let (section, errors) = section_from_form(step, form, ctx.state.clock.paris_today());
    if !errors.is_empty() || form.is_refused() {
        return Ok(HttpResponse::NoContent().finish());
    }
    body[step.section()] = section;
    let given = |key: &str| body.get(key).filter(|v| !v.is_null()).cloned();
    let Some(Ok(organisation)) = given("organisation").map(from_json::<Organisation>) else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let project = given("project").and_then(|p| from_json::<Project>(p).ok());
    let ess = given("ess").and_then(|e| from_json::<EssCommitments>(e).ok());
    match applications::precheck(
        &ctx.state,
        &user,
        crate::services::calls::id(&call_id)?,
        organisation,
        project,
        ess,
    )
    .await
    {
        Ok(ev) => {
            let verdict_label = match ev.verdict {
                crate::domain::eligibility::Verdict::Eligible => "les critères sont remplis",
                crate::domain::eligibility::Verdict::Ineligible => {
                    "au moins un critère n'est pas rempli"
                }
                crate::domain::eligibility::Verdict::NeedsReview => {
                    "les critères automatiques sont remplis, certains seront vérifiés par la Métropole"
                }
            };
            Ok(HttpResponse::Ok().json(json!({
                "verdict": ev.verdict,
                "verdict_label": verdict_label,
                "criteria": ev.criteria,
            })))
        }
        Err(ServiceError::Invalid { .. }) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => Err(e.into()),
    }
}

async fn new_step_precheck(
    ctx: PageCtx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let (call_id, step) = path.into_inner();
    let step = Step::parse(&step)?;
    let form = Form::parse(&body);
    ctx.check_form(&form)?;
    let draft = ctx
        .session()?
        .data
        .get(draft_key(&call_id))
        .cloned()
        .unwrap_or(json!({}));
    precheck_answer(&ctx, &form, step, call_id, draft).await
}

async fn edit_step_precheck(
    ctx: PageCtx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let (id, step) = path.into_inner();
    let step = Step::parse(&step)?;
    let form = Form::parse(&body);
    ctx.check_form(&form)?;
    let app = load(&ctx, id).await?;
    let saved = json!({
        "organisation": app.organisation,
        "project": app.project,
        "ess": app.ess,
    });
    precheck_answer(&ctx, &form, step, app.call_id.to_string(), saved).await
}

#[derive(serde::Deserialize)]
struct DocumentsQuery {
    /// The id of the document just added, confirmed at the top of the page.
    ajoutee: Option<String>,
}

async fn documents_page(
    ctx: PageCtx,
    id: web::Path<String>,
    q: web::Query<DocumentsQuery>,
) -> Result<HttpResponse, WebError> {
    let added = q.into_inner().ajoutee;
    render_documents(
        &ctx,
        id.into_inner(),
        None,
        StatusCode::OK,
        added.as_deref(),
    )
    .await
}

/// The label of a document's kind: the call's own words for its required documents (the
/// one list of them), « Autre pièce (annexe) » for an annex.
pub fn document_kind_label(call: &calls::Call, kind: &str) -> String {
    call.required_documents
        .iter()
        .find(|r| r.key == kind)
        .map(|r| r.label.clone())
        .unwrap_or_else(|| {
            if kind == crate::domain::call::OTHER_DOCUMENT_KIND {
                "Autre pièce (annexe)".to_owned()
            } else {
                kind.to_owned()
            }
        })
}

/// The documents as the answers' summary lists them: each with its kind in words.
pub fn document_rows(call: &calls::Call, docs: &[documents::Document]) -> Vec<Value> {
    docs.iter()
        .map(|d| {
            context! {
                id => d.id.to_string(),
                filename => d.filename.clone(),
                size_bytes => d.size_bytes,
                kind_label => document_kind_label(call, &d.kind),
            }
        })
        .collect()
}

/// The commune of the seat and the communes of activity, in words.
fn communes(app: &applications::Application) -> (String, Vec<String>) {
    let activity = app
        .project
        .activity_communes
        .iter()
        .map(|c| commune_label(c))
        .collect();
    (commune_label(&app.organisation.commune_insee), activity)
}

async fn render_documents(
    ctx: &PageCtx,
    id: String,
    error: Option<String>,
    status: StatusCode,
    added: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let app = load(ctx, id.clone()).await?;
    let call = calls::get(&ctx.state, false, app.call_id.clone()).await?;
    let docs = documents::list(&ctx.state, &user, crate::services::applications::id(&id)?).await?;
    let required: Vec<Value> = call
        .required_documents
        .iter()
        .map(|r| {
            let attached: Vec<&documents::Document> =
                docs.iter().filter(|d| d.kind == r.key).collect();
            context! { key => r.key.clone(), label => r.label.clone(), attached => ser(&attached) }
        })
        .collect();
    let others: Vec<&documents::Document> = docs
        .iter()
        .filter(|d| !call.required_documents.iter().any(|r| r.key == d.kind))
        .collect();
    let editable = app.state.is_editable() && app.allowed_actions.contains(&Action::Submit);
    let fresh = ctx.req.query_string().contains("nouvelle=1");
    // The upload form offers first the first piece still missing, then an annex: never a
    // piece already in, which a new file would replace.
    let preselect = call
        .required_documents
        .iter()
        .find(|r| !docs.iter().any(|d| d.kind == r.key))
        .map_or_else(
            || crate::domain::call::OTHER_DOCUMENT_KIND.to_owned(),
            |r| r.key.clone(),
        );
    let added = added
        .and_then(|a| docs.iter().find(|d| d.id.as_str() == a))
        .map(|d| context! { label => document_kind_label(&call, &d.kind), filename => d.filename.clone() });
    ctx.render_status(
        status,
        "documents.html",
        context! {
            application => ser(&app),
            call => ser(&call),
            required,
            others => ser(&others),
            editable,
            error,
            fresh,
            preselect,
            added,
            types => "PDF, ODT, ODS, DOCX, XLSX, PNG ou JPEG",
        },
    )
}

#[derive(serde::Deserialize)]
struct CsrfQuery {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    /// « Continuer : vérifier vos réponses », pressed in the upload form.
    continuer: Option<String>,
}

/// The name of the file chosen in the form, if one with content was sent (the browser sends
/// an empty part with no name when none is chosen). Reads the form without keeping it.
async fn chosen_file(mut form: Multipart) -> Option<String> {
    use futures_util::StreamExt;
    let mut chosen = None;
    while let Some(Ok(mut field)) = form.next().await {
        let name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let is_file = field.name() == Some("file");
        let mut size = 0usize;
        while let Some(Ok(chunk)) = field.next().await {
            size += chunk.len();
        }
        if is_file && size > 0 {
            chosen = Some(
                name.filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "choisi".into()),
            );
        }
    }
    chosen
}

/// The upload form is multipart, which the service reads as a stream: its CSRF token comes in
/// the query string (the page is same-origin and `Referrer-Policy: same-origin` keeps it here).
/// « Continuer » is a button of the same form (`formaction` with `continuer=1`), so a file
/// chosen but not added is noticed rather than silently dropped.
async fn upload(
    ctx: PageCtx,
    id: web::Path<String>,
    q: web::Query<CsrfQuery>,
    form: Multipart,
) -> Result<HttpResponse, WebError> {
    ctx.check_csrf(q.csrf.as_deref())?;
    let user = ctx.user()?;
    let id = id.into_inner();
    if q.continuer.is_some() {
        return match chosen_file(form).await {
            None => Ok(see_other(&format!("/candidatures/{id}/verifier"))),
            Some(name) => {
                let message = format!(
                    "Le fichier « {name} » que vous avez choisi n'a pas été ajouté : choisissez-le \
                     à nouveau et appuyez sur « Ajouter ce fichier », ou continuez sans lui."
                );
                render_documents(
                    &ctx,
                    id,
                    Some(message),
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                )
                .await
            }
        };
    }
    match documents::upload(
        &ctx.state,
        &user,
        crate::services::applications::id(&id)?,
        |l: documents::UploadLimits| read_document(form, l.tmp_dir, l.max_bytes, l.sniff_bytes),
    )
    .await
    {
        Ok(doc) => Ok(see_other(&format!(
            "/candidatures/{id}/pieces?ajoutee={}",
            doc.id
        ))),
        Err(ServiceError::Invalid { fields, .. })
            if fields.get("file").is_some_and(|m| {
                m.iter()
                    .any(|m| m == "le fichier est vide" || m.starts_with("joignez un fichier"))
            }) =>
        {
            // No file chosen: say so in the page's words, not the API's field name.
            let message = "Choisissez un fichier".to_owned();
            render_documents(
                &ctx,
                id,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await
        }
        Err(
            e @ (ServiceError::Invalid { .. }
            | ServiceError::TooLarge(_)
            | ServiceError::UnsupportedContent(_)
            | ServiceError::BadInput(_)),
        ) => {
            let message = e.message();
            let status = actix_web::ResponseError::status_code(&AppError::from(e));
            render_documents(&ctx, id, Some(message), status, None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_document(
    CsrfForm { ctx, form: _ }: CsrfForm,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let (id, doc) = path.into_inner();
    documents::delete(
        &ctx.state,
        &user,
        crate::services::applications::id(&id)?,
        documents::id(&doc)?,
    )
    .await?;
    Ok(see_other(&format!("/candidatures/{id}/pieces?supprimee=1")))
}

async fn eligibility_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    let app = load(&ctx, id.clone()).await?;
    let call = calls::get(&ctx.state, false, app.call_id.clone()).await?;
    let report =
        applications::eligibility(&ctx.state, &user, crate::services::applications::id(&id)?)
            .await?;
    let missing: Vec<String> = report
        .missing_documents
        .iter()
        .map(|k| {
            call.required_documents
                .iter()
                .find(|r| &r.key == k)
                .map_or_else(|| k.clone(), |r| r.label.clone())
        })
        .collect();
    ctx.render(
        "eligibility.html",
        context! { application => ser(&app), call => ser(&call), report => ser(&report), missing },
    )
}

async fn check_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    render_check(&ctx, id.into_inner(), None, Vec::new(), StatusCode::OK).await
}

async fn render_check(
    ctx: &PageCtx,
    id: String,
    error: Option<String>,
    reasons: Vec<String>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let app = load(ctx, id.clone()).await?;
    let call = calls::get(&ctx.state, false, app.call_id.clone()).await?;
    let report =
        applications::eligibility(&ctx.state, &user, crate::services::applications::id(&id)?)
            .await?;
    let docs = documents::list(&ctx.state, &user, crate::services::applications::id(&id)?).await?;
    let (commune, activity) = communes(&app);
    let can_submit = app.allowed_actions.contains(&Action::Submit);
    ctx.render_status(
        status,
        "check.html",
        context! {
            application => ser(&app),
            call => ser(&call),
            report => ser(&report),
            documents => document_rows(&call, &docs),
            labels => crate::web::labels::answer_labels(),
            commune,
            activity,
            can_submit,
            error,
            reasons,
        },
    )
}

async fn submit(
    CsrfForm { ctx, form }: CsrfForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    let version = form.get("version").parse::<i32>().ok();
    match transitions::apply(
        &ctx.state,
        &user,
        crate::services::applications::id(&id)?,
        version,
        Command::Submit,
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/candidatures/{id}/recepisse"))),
        Err(
            e @ (ServiceError::Invalid { .. }
            | ServiceError::Conflict { .. }
            | ServiceError::StaleVersion(_)),
        ) => {
            let message = e.message();
            // A refused submission names each failing criterion and each missing document.
            let reasons: Vec<String> = match &e {
                ServiceError::Invalid { fields, .. } => {
                    fields.values().flatten().cloned().collect()
                }
                _ => Vec::new(),
            };
            let status = actix_web::ResponseError::status_code(&AppError::from(e));
            render_check(&ctx, id, Some(message), reasons, status).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn receipt(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let app = load(&ctx, id.into_inner()).await?;
    if app.submitted_at.is_none() {
        return Ok(see_other(&format!("/candidatures/{}", app.id)));
    }
    let call = calls::get(&ctx.state, false, app.call_id.clone()).await?;
    let submitted_at = app.submitted_at.map(|t| t.to_rfc3339());
    ctx.render(
        "receipt.html",
        context! { application => ser(&app), call => ser(&call), submitted_at },
    )
}

/// What the applicant's timeline says of an event: never who reviews (DESIGN §7), only their
/// own actions and the Métropole's.
fn timeline(events: Vec<applications::HistoryEvent>, user_id: &str) -> Vec<Value> {
    use crate::domain::application_state::Action as A;
    use crate::domain::history::{HistoryAction, HistoryAction as H};
    events
        .into_iter()
        .filter_map(|e| {
            // The service gives only what the applicant may read; a name essor does not
            // write is not worded.
            let action = HistoryAction::parse(&e.action)?;
            let to = e.to_state.as_deref();
            let label = match action {
                H::Create => "Candidature commencée",
                H::Update => "Réponses modifiées",
                H::UploadDocument => "Pièce ajoutée",
                H::DeleteDocument => "Pièce supprimée",
                H::Transition(A::Submit) => "Candidature déposée",
                H::Transition(A::RequestChanges) => "Compléments demandés par la Métropole",
                H::Transition(A::DeclareIneligible) => "Candidature déclarée inéligible",
                H::Transition(A::StartReview) => "Instruction commencée",
                H::Transition(A::Accept | A::Reject) | H::Decision if action.is_award(to) => {
                    "Subvention accordée"
                }
                H::Transition(A::Accept | A::Reject) | H::Decision => "Candidature non retenue",
                H::Transition(A::Withdraw) => "Candidature retirée",
                H::Grant(g) => g.history_label_fr(),
                H::BankDetails => "Coordonnées bancaires indiquées",
                H::Instalment(i) => i.history_label_fr(),
                H::Registration => "Structure immatriculée",
                H::AssignReviewer
                | H::AssignmentAccept
                | H::AssignmentRecuse
                | H::SubmitReview
                | H::CommuneOpinion => {
                    return None;
                }
            };
            let who = if e.actor_id == user_id {
                "Vous"
            } else {
                "La Métropole"
            };
            // Only what the applicant wrote or was written to them; never reviewer ids.
            let note = match action {
                H::Transition(A::RequestChanges) => e.payload.get("message").and_then(Json::as_str),
                H::Transition(A::DeclareIneligible | A::Accept | A::Reject) | H::Decision => {
                    e.payload.get("motivation").and_then(Json::as_str)
                }
                H::Transition(A::Withdraw) => e.payload.get("reason").and_then(Json::as_str),
                H::UploadDocument | H::DeleteDocument => {
                    e.payload.get("filename").and_then(Json::as_str)
                }
                H::Registration => e.payload.get("siret").and_then(Json::as_str),
                _ => None,
            }
            .map(str::to_owned);
            Some(context! { label, who, at => e.at.to_rfc3339(), note })
        })
        .collect()
}

async fn application_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    // This is the applicant's page; an agent or a reviewer who lands here (a link of an
    // older mail) is sent to their own page of the application (DESIGN.md §10).
    if user.role.is_staff() {
        return Ok(see_other(&format!("/gestion/candidatures/{id}")));
    }
    if user.role == crate::domain::account::Role::Reviewer {
        return match reviews::own_assignment_to(
            &ctx.state,
            &user,
            crate::services::applications::id(&id)?,
        )
        .await?
        {
            Some(assignment) => Ok(see_other(&format!("/evaluations/{assignment}"))),
            None => {
                Err(AppError::NotFound("Cette candidature ne vous est pas confiée.".into()).into())
            }
        };
    }
    // One database call for all of it (issues 19 and 33).
    let crate::services::overview::Overview {
        application: app,
        call,
        history,
        documents,
        opinions,
    } = crate::services::overview::overview(
        &ctx.state,
        &user,
        crate::services::applications::id(&id)?,
    )
    .await?;
    // Once submitted, the applicant reads their answers and documents here, read-only.
    let answers_shown = app.submitted_at.is_some();
    let docs = document_rows(&call, &documents);
    let (commune, activity) = communes(&app);
    // The communes consulted (§16): their names, never what they said.
    let consulted: Vec<String> = opinions
        .map(|o| o.consulted)
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            format!(
                "La commune {} a été consultée.",
                crate::domain::territory::of_commune(&c.commune_name)
            )
        })
        .collect();
    let request = history
        .iter()
        .rev()
        .find(|e| e.action == "request-changes")
        .and_then(|e| e.payload.get("message").and_then(Json::as_str))
        .map(str::to_owned)
        .filter(|_| app.state == ApplicationState::ChangesRequested);
    let events = timeline(history, user.id.as_str());
    let can_submit = app.allowed_actions.contains(&Action::Submit);
    let can_withdraw = app.allowed_actions.contains(&Action::Withdraw);
    let state_label = app.state.label_fr();
    let after = if app.state.is_final() {
        crate::services::grants::after_decision(&ctx.state, &user, app.id.clone()).await?
    } else {
        Default::default()
    };
    let (letters, grant) = crate::web::labels::after_decision(after);
    let signed = ctx.req.query_string().contains("signee=1");
    let bank_saved = ctx.req.query_string().contains("banque=1");
    let report_sent = ctx.req.query_string().contains("compte_rendu=1");
    let registered = ctx.req.query_string().contains("immatriculee=1");
    ctx.render(
        "application.html",
        context! {
            letters,
            grant,
            signed,
            bank_saved,
            report_sent,
            registered,
            application => ser(&app),
            call => ser(&call),
            state_label,
            events,
            request,
            can_submit,
            can_withdraw,
            answers_shown,
            documents => docs,
            labels => crate::web::labels::answer_labels(),
            commune,
            activity,
            consulted,
        },
    )
}

async fn withdraw_form(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let app = load(&ctx, id.into_inner()).await?;
    ctx.render(
        "withdraw.html",
        context! { application => ser(&app), values => context! {}, errors => ser(&Errors::default()) },
    )
}

async fn withdraw(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let mut errors = refused;
    let user = ctx.user()?;
    let id = id.into_inner();
    if form.get("confirm") != "oui" {
        errors.add("confirm", "cochez la case pour confirmer le retrait");
    }
    if errors.is_empty() {
        let command = Command::Withdraw(WithdrawInput {
            reason: form.get("reason").to_owned(),
        });
        let version = form.get("version").parse::<i32>().ok();
        match transitions::apply(
            &ctx.state,
            &user,
            crate::services::applications::id(&id)?,
            version,
            command,
        )
        .await
        {
            Ok(_) => return Ok(see_other(&format!("/candidatures/{id}?retiree=1"))),
            Err(e) => {
                errors =
                    Errors::from_service(e, |p| (p == "reason").then(|| p.to_owned()), "reason")?
            }
        }
    }
    let app = load(&ctx, id).await?;
    ctx.render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "withdraw.html",
        context! {
            application => ser(&app),
            values => ser(&values_of(&form)),
            errors => ser(&errors.ordered(&["reason", "confirm"])),
        },
    )
}

/// The applicant's own application and its grant, as the pages show them; 404 when there is
/// no grant (only the application's owner and staff read it).
async fn own_grant(
    ctx: &PageCtx,
    user: &crate::auth::CurrentUser,
    id: &str,
) -> Result<(Value, Value), WebError> {
    let app = load(ctx, id.to_owned()).await?;
    let after = crate::services::grants::after_decision(&ctx.state, user, app.id.clone()).await?;
    let (_, grant) = crate::web::labels::after_decision(after);
    let grant = grant.ok_or_else(|| {
        WebError::from(AppError::NotFound(
            "Aucun financement n'est attaché à cette candidature.".into(),
        ))
    })?;
    Ok((ser(&app), grant))
}

fn attr(v: &Value, name: &str) -> Option<Value> {
    v.get_attr(name).ok().filter(|a| !a.is_undefined())
}

/// « Signer la convention »: the convention's link, the signatory's name and quality, the
/// acceptance. Once signed (or when there is nothing to sign) the application's page says so.
async fn sign_form(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    let (application, grant) = own_grant(&ctx, &user, &id).await?;
    if !attr(&grant, "can_sign").is_some_and(|v| v.is_true()) {
        return Ok(see_other(&format!("/candidatures/{id}")));
    }
    ctx.render(
        "sign_convention.html",
        context! { application, grant, values => context! {}, errors => ser(&Errors::default()) },
    )
}

async fn sign(
    ctx: PageCtx,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let mut errors = ctx.check_form(&form)?;
    let user = ctx.user()?;
    let id = id.into_inner();
    let (application, grant) = own_grant(&ctx, &user, &id).await?;
    let input = crate::services::conventions::SignInput {
        signatory_name: form.get("signatory_name").to_owned(),
        signatory_quality: form.get("signatory_quality").to_owned(),
        accept: form.get("accept") == "oui",
    };
    if errors.is_empty() {
        let grant_id = attr(&grant, "id")
            .map(|v| v.to_string())
            .unwrap_or_default();
        match crate::services::conventions::sign(
            &ctx.state,
            &user,
            &crate::services::grant_view::id(&grant_id)?,
            input,
        )
        .await
        {
            Ok(_) => return Ok(see_other(&format!("/candidatures/{id}?signee=1"))),
            Err(e) => {
                errors = Errors::from_service(
                    e,
                    |p| {
                        matches!(p, "signatory_name" | "signatory_quality" | "accept")
                            .then(|| p.to_owned())
                    },
                    "signatory_name",
                )?
            }
        }
    } else if let Err(e) = input.check() {
        // The CSRF refusal comes with the body's own errors, all at once.
        errors = errors.and(Errors::from_service(
            e,
            |p| Some(p.to_owned()),
            "signatory_name",
        )?);
    }
    ctx.render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "sign_convention.html",
        context! {
            application,
            grant,
            values => ser(&values_of(&form)),
            errors => ser(&errors.ordered(&["signatory_name", "signatory_quality", "accept"])),
        },
    )
}

/// « Coordonnées bancaires »: the IBAN, the BIC and the holder, as typed from a RIB. The form
/// never shows the stored IBAN back (the beneficiary reads its mask on the application's page).
async fn bank_form(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    let (application, grant) = own_grant(&ctx, &user, &id).await?;
    if !attr(&grant, "can_give_bank").is_some_and(|v| v.is_true()) {
        return Ok(see_other(&format!("/candidatures/{id}")));
    }
    ctx.render(
        "bank_details.html",
        context! { application, grant, values => context! {}, errors => ser(&Errors::default()) },
    )
}

async fn bank_save(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let mut errors = refused;
    let user = ctx.user()?;
    let id = id.into_inner();
    let (application, grant) = own_grant(&ctx, &user, &id).await?;
    let input = crate::services::bank_details::BankDetailsInput {
        iban: form.get("iban").to_owned(),
        bic: form.get("bic").to_owned(),
        holder: form.get("holder").to_owned(),
    };
    let field = |p: &str| matches!(p, "iban" | "bic" | "holder").then(|| p.to_owned());
    if errors.is_empty() {
        let grant_id = attr(&grant, "id")
            .map(|v| v.to_string())
            .unwrap_or_default();
        match crate::services::bank_details::put(
            &ctx.state,
            &user,
            &crate::services::grant_view::id(&grant_id)?,
            input,
        )
        .await
        {
            Ok(_) => return Ok(see_other(&format!("/candidatures/{id}?banque=1"))),
            Err(e) => errors = Errors::from_service(e, field, "iban")?,
        }
    } else if let Err(e) = input.check() {
        errors = errors.and(Errors::from_service(e, field, "iban")?);
    }
    ctx.render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "bank_details.html",
        context! {
            application,
            grant,
            values => ser(&values_of(&form)),
            errors => ser(&errors.ordered(&["iban", "bic", "holder"])),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
    }

    #[test]
    fn step_one_is_checked_in_one_pass_with_distinct_messages() {
        // Form errors (no legal form, a commune outside the Métropole, two unanswered yes/no
        // questions, a date in the future) and domain errors (no name, a SIRET with a wrong
        // key, a wrong postal code) come together.
        let form = Form::parse(
            "name=&legal_form=&siret=73282932000079&created_on=01/03/2030\
             &address=1+rue&postal_code=591&commune=Paris&employees=1&esus=none"
                .as_bytes(),
        );
        let (_, errors) = read_step(Step::Organisation, &form, today()).unwrap();
        for field in [
            "name",
            "legal_form",
            "siret",
            "created_on",
            "postal_code",
            "commune",
            "rcs_ess_mention",
            "in_insolvency_proceedings",
        ] {
            assert!(errors.fields.contains_key(field), "{field}: {errors:?}");
        }
        assert!(
            errors.fields["commune"].contains("« Paris » n'est pas une commune de la Métropole"),
            "{errors:?}"
        );
        assert!(errors.fields["created_on"].contains("futur"), "{errors:?}");
        let messages: Vec<&String> = errors.summary.iter().map(|(_, m)| m).collect();
        let mut distinct = messages.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), messages.len(), "{messages:?}");
        assert!(errors.fields["in_insolvency_proceedings"].starts_with("Procédure collective"));
        // The summary follows the page's order.
        assert_eq!(errors.summary[0].0, "name");
        // An empty commune is asked for; today is not in the future.
        let form = Form::parse(b"commune=&created_on=15/06/2026");
        let (_, errors) = read_step(Step::Organisation, &form, today()).unwrap();
        assert!(errors.fields["commune"].starts_with("Indiquez la commune du siège"));
        assert!(!errors.fields.contains_key("created_on"), "{errors:?}");
    }

    #[test]
    fn dates_as_people_write_them() {
        let d = chrono::NaiveDate::from_ymd_opt(2025, 3, 1);
        for input in [
            "01/03/2025",
            "1/3/2025",
            "01.03.2025",
            "2025-03-01",
            " 01 03 2025 ",
        ] {
            assert_eq!(parse_date(input), d, "{input:?}");
        }
        for input in ["31/02/2025", "01/03/25", "mars 2025", "", "2025/13/01"] {
            assert_eq!(parse_date(input), None, "{input:?}");
        }
    }

    #[test]
    fn communes_are_found_by_name() {
        assert_eq!(commune_code("Roubaix").as_deref(), Some("59512"));
        assert_eq!(commune_code("roubaix ").as_deref(), Some("59512"));
        assert_eq!(commune_code("Villeneuve-d'Ascq").as_deref(), Some("59009"));
        assert_eq!(commune_code("villeneuve d ascq").as_deref(), Some("59009"));
        assert_eq!(commune_code("59350").as_deref(), Some("59350"));
        assert_eq!(commune_code("Paris"), None);
        assert_eq!(commune_code(""), None);
    }

    #[test]
    fn a_step_form_becomes_its_section() {
        let form = Form::parse(
            "title=Recyclerie&summary=x&stage=startup&activity_commune=Roubaix\
             &other_communes=Lille%2C+Tourcoing&total_budget=90+000&requested=20000\
             &starts_on=15/01/2027&jobs_created=2"
                .as_bytes(),
        );
        let (section, errors) = section_from_form(Step::Project, &form, today());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(section["requested_cents"], 2_000_000);
        assert_eq!(section["total_budget_cents"], 9_000_000);
        assert_eq!(
            section["activity_communes"],
            json!(["59512", "59350", "59599"])
        );
        validate_section(Step::Project, section.clone()).unwrap();
        let values = form_values(Step::Project, &section);
        assert_eq!(values["activity_commune"], "Roubaix");
        assert_eq!(values["requested"], "20000");
    }

    #[test]
    fn words_where_numbers_go_are_named() {
        let form = Form::parse(b"title=&stage=&total_budget=beaucoup&jobs_created=deux");
        let (_, errors) = section_from_form(Step::Project, &form, today());
        for field in [
            "stage",
            "activity_commune",
            "total_budget",
            "requested",
            "starts_on",
            "jobs_created",
        ] {
            assert!(errors.fields.contains_key(field), "{field}: {errors:?}");
        }
    }

    #[test]
    fn domain_messages_land_beside_their_field() {
        let form = Form::parse(
            b"name=&legal_form=association&siret=73282932000079&created_on=01/03/2025\
              &address=1+rue&postal_code=59100&commune=Roubaix&employees=1&esus=none\
              &rcs_ess_mention=non&in_insolvency_proceedings=non",
        );
        let (section, errors) = section_from_form(Step::Organisation, &form, today());
        assert!(errors.is_empty(), "{errors:?}");
        let err = validate_section(Step::Organisation, section).unwrap_err();
        let errors = Errors::from_service(err, |p| Step::Organisation.field_of(p), "name").unwrap();
        assert!(errors.fields.contains_key("name"), "{errors:?}");
        assert!(errors.fields.contains_key("siret"), "{errors:?}");
    }
}
