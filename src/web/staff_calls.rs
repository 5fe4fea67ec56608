//! The agents' forms for calls (DESIGN.md §6, §13): create a call, edit it while it may be
//! edited, publish it and close it, each after a confirmation page. Every rule is the
//! service's (`services::calls`, the same as the API's); this module reads the form (euros
//! typed by a person into cents, dates in Europe/Paris) and shows the refusals beside the
//! fields.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate};
use minijinja::context;
use serde_json::{Map, Value as Json, json};

use crate::auth::CurrentUser;
use crate::domain::call::{self as rules, CallAction, paris_rfc3339, parse_deadline};
use crate::domain::eligibility::RuleSet;
use crate::domain::grant::{CONVENTION_THRESHOLD, ConventionPolicy, DEFAULT_REPORT_DUE_MONTHS};
use crate::domain::territory;
use crate::error::ServiceError;
use crate::services::calls::{self, Call, NewCall};
use crate::web::checked_form::{CsrfForm, RefillForm};
use crate::web::forms::{Errors, Form, euros_input, parse_euros};
use crate::web::{PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/gestion/appels/nouveau", web::get().to(new_form))
        .route("/gestion/appels/nouveau", web::post().to(create))
        .route("/gestion/appels/{id}/modifier", web::get().to(edit_form))
        .route("/gestion/appels/{id}/modifier", web::post().to(save))
        .route(
            "/gestion/appels/{id}/publier",
            web::get().to(confirm_publish),
        )
        .route("/gestion/appels/{id}/publier", web::post().to(publish))
        .route("/gestion/appels/{id}/clore", web::get().to(confirm_close))
        .route("/gestion/appels/{id}/clore", web::post().to(close));
}

/// The form's fields, in page order (for the error summary).
const FIELDS: &[&str] = &[
    "title",
    "description",
    "opens_on",
    "opens_time",
    "closes_on",
    "closes_time",
    "budget",
    "max_award",
    "max_budget_share_pct",
    "min_reviews",
    "rules_version",
    "territory",
    "convention",
    "convention_threshold",
    "report_due_months",
    "commune_opinion_days",
    "reviewers_see_commune_opinions",
];

/// A staff member, or a 403 page.
pub fn staff(ctx: &PageCtx) -> Result<CurrentUser, WebError> {
    let user = ctx.user()?;
    user.require_staff()?;
    Ok(user)
}

/// The service's field → the form's field.
fn field_of(path: &str) -> Option<String> {
    let name = match path.split(['[', '.']).next().unwrap_or(path) {
        "opens_at" => "opens_on",
        "closes_at" => "closes_on",
        "budget_cents" => "budget",
        "max_award_cents" => "max_award",
        "convention_threshold_cents" => "convention_threshold",
        other => other,
    };
    FIELDS.contains(&name).then(|| name.to_owned())
}

/// « 05/01/2027 », « 5/1/2027 », « 2027-01-05 » → a date.
fn parse_date(input: &str) -> Option<NaiveDate> {
    let input = input.trim().replace(['.', '-', ' '], "/");
    let parts: Vec<&str> = input.split('/').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    if y.len() != 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// « 9:00 », « 09h00 », « 12 » → (hours, minutes).
fn parse_time(input: &str) -> Option<(u32, u32)> {
    let input = input.trim().to_lowercase().replace(['h', '.'], ":");
    let (h, m) = match input.split_once(':') {
        Some((h, m)) => (h.trim(), m.trim()),
        None => (input.trim(), ""),
    };
    let h: u32 = h.parse().ok()?;
    let m: u32 = if m.is_empty() { 0 } else { m.parse().ok()? };
    (h < 24 && m < 60).then_some((h, m))
}

/// A date and a time typed in Paris → the API's form of a deadline (RFC 3339 with Paris's
/// offset, as the call shows it, so that an unchanged deadline is not seen as a change).
fn deadline(
    form: &Form,
    date_field: &str,
    time_field: &str,
    errors: &mut Errors,
) -> Option<String> {
    let date = form.get(date_field);
    if date.is_empty() {
        return None;
    }
    let Some(d) = parse_date(date) else {
        errors.add(
            date_field,
            "indiquez une date réelle sous la forme jour/mois/année, par exemple 05/01/2027",
        );
        return None;
    };
    let Some((h, m)) = parse_time(form.get(time_field)) else {
        errors.add(
            time_field,
            "indiquez une heure sous la forme heures:minutes, par exemple 09:00",
        );
        return None;
    };
    let local = format!("{d}T{h:02}:{m:02}:00");
    // Paris time: the service judges an hour that does not exist (spring forward).
    Some(
        parse_deadline(&local)
            .map(|utc| paris_rfc3339(utc.naive_utc()))
            .unwrap_or(local),
    )
}

fn euros(form: &Form, name: &str, errors: &mut Errors) -> Option<i64> {
    let v = parse_euros(form.get(name));
    if v.is_none() {
        errors.add(
            name,
            "indiquez un montant en euros, par exemple 200 000 ou 1 500,50",
        );
    }
    v
}

/// The communes typed (INSEE codes or names, separated by commas or lines); `None` when the
/// field is empty (the whole Métropole).
fn communes(form: &Form, errors: &mut Errors) -> Option<Vec<String>> {
    let typed = form.get("territory");
    if typed.is_empty() {
        return None;
    }
    let fold = |s: &str| {
        s.to_lowercase()
            .replace(['-', '\'', '’'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut codes = Vec::new();
    let mut unknown = Vec::new();
    for item in typed.split([',', ';', '\n']).map(str::trim) {
        if item.is_empty() {
            continue;
        }
        if item.len() == 5 && item.chars().skip(2).all(|c| c.is_ascii_digit()) {
            codes.push(item.to_uppercase());
        } else if let Some(c) = territory::mel_communes()
            .iter()
            .find(|c| fold(&c.name) == fold(item))
        {
            codes.push(c.insee.clone());
        } else {
            unknown.push(item.to_owned());
        }
    }
    if !unknown.is_empty() {
        errors.add(
            "territory",
            format!(
                "commune inconnue dans la Métropole : {} ; indiquez son code INSEE",
                unknown.join(", ")
            ),
        );
    }
    codes.dedup();
    Some(codes)
}

fn whole(form: &Form, name: &str, errors: &mut Errors) -> Option<u32> {
    let v = form.get(name).parse::<u32>().ok();
    if v.is_none() {
        errors.add(name, "indiquez un nombre entier, par exemple 2");
    }
    v
}

/// The form read into the call's settings, as a JSON object (the keys of `NewCall` and of
/// the merge patch). Type errors are the form's own.
fn read(form: &Form, creating: bool) -> (Map<String, Json>, Errors) {
    let mut errors = Errors::default();
    let mut out = Map::new();
    out.insert("title".into(), json!(form.get("title")));
    out.insert("description".into(), json!(form.get("description")));
    out.insert(
        "opens_at".into(),
        json!(deadline(form, "opens_on", "opens_time", &mut errors)),
    );
    out.insert(
        "closes_at".into(),
        json!(deadline(form, "closes_on", "closes_time", &mut errors)),
    );
    if let Some(v) = euros(form, "budget", &mut errors) {
        out.insert("budget_cents".into(), json!(v));
    }
    if let Some(v) = euros(form, "max_award", &mut errors) {
        out.insert("max_award_cents".into(), json!(v));
    }
    match form.opt("max_budget_share_pct") {
        None if creating => {}
        None => {
            out.insert("max_budget_share_pct".into(), Json::Null);
        }
        Some(v) => match v.trim_end_matches('%').trim().parse::<u8>() {
            Ok(p) => {
                out.insert("max_budget_share_pct".into(), json!(p));
            }
            Err(_) => errors.add(
                "max_budget_share_pct",
                "indiquez un pourcentage entier entre 1 et 100, ou laissez vide",
            ),
        },
    }
    if let Some(v) = whole(form, "min_reviews", &mut errors) {
        out.insert("min_reviews".into(), json!(v));
    }
    out.insert("rules_version".into(), json!(form.get("rules_version")));
    if let Some(codes) = communes(form, &mut errors) {
        out.insert("territory".into(), json!(codes));
    } else {
        out.insert("territory".into(), json!(territory::mel_insee_codes()));
    }
    // The convention's rule (§15): a form without these fields (an older page) keeps the
    // call's, or the defaults.
    if let Some(policy) = form.opt("convention") {
        match policy.parse::<ConventionPolicy>() {
            Ok(p) => {
                out.insert("convention".into(), json!(p));
            }
            Err(_) => errors.add("convention", "choisissez quand une convention est requise"),
        }
    }
    if form.opt("convention_threshold").is_some()
        && let Some(v) = euros(form, "convention_threshold", &mut errors)
    {
        out.insert("convention_threshold_cents".into(), json!(v));
    }
    if form.opt("report_due_months").is_some()
        && let Some(v) = whole(form, "report_due_months", &mut errors)
    {
        out.insert("report_due_months".into(), json!(v));
    }
    // The communes' opinion (§16), kept likewise when the form does not carry it.
    if form.opt("commune_opinion_days").is_some()
        && let Some(v) = whole(form, "commune_opinion_days", &mut errors)
    {
        out.insert("commune_opinion_days".into(), json!(v));
    }
    match form.opt("reviewers_see_commune_opinions") {
        None => {}
        Some("oui") => {
            out.insert("reviewers_see_commune_opinions".into(), json!(true));
        }
        Some("non") => {
            out.insert("reviewers_see_commune_opinions".into(), json!(false));
        }
        Some(_) => errors.add(
            "reviewers_see_commune_opinions",
            "répondez par oui ou par non",
        ),
    }
    (out, errors)
}

/// A call's settings as the form shows them.
fn values_of(call: &Call) -> Map<String, Json> {
    let (opens_on, opens_time) = split_deadline(call.opens_at.as_deref(), "09:00");
    let (closes_on, closes_time) = split_deadline(call.closes_at.as_deref(), "12:00");
    let mel: BTreeSet<String> = territory::mel_insee_codes().into_iter().collect();
    let here: BTreeSet<String> = call.territory.iter().cloned().collect();
    let territory = if here == mel {
        String::new()
    } else {
        call.territory
            .iter()
            .map(|c| territory::commune_name(c).map_or_else(|| c.clone(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut v = Map::new();
    v.insert("title".into(), json!(call.title));
    v.insert("description".into(), json!(call.description));
    v.insert("opens_on".into(), json!(opens_on));
    v.insert("opens_time".into(), json!(opens_time));
    v.insert("closes_on".into(), json!(closes_on));
    v.insert("closes_time".into(), json!(closes_time));
    v.insert(
        "budget".into(),
        json!(euros_input(call.budget_cents.value())),
    );
    v.insert(
        "max_award".into(),
        json!(euros_input(call.max_award_cents.value())),
    );
    v.insert(
        "max_budget_share_pct".into(),
        json!(
            call.max_budget_share_pct
                .map(|p| p.to_string())
                .unwrap_or_default()
        ),
    );
    v.insert("min_reviews".into(), json!(call.min_reviews.to_string()));
    v.insert("rules_version".into(), json!(call.rules_version));
    v.insert("territory".into(), json!(territory));
    v.insert("convention".into(), json!(call.convention));
    v.insert(
        "convention_threshold".into(),
        json!(euros_input(call.convention_threshold_cents.value())),
    );
    v.insert(
        "report_due_months".into(),
        json!(call.report_due_months.to_string()),
    );
    v.insert(
        "commune_opinion_days".into(),
        json!(call.commune_opinion_days.to_string()),
    );
    v.insert(
        "reviewers_see_commune_opinions".into(),
        json!(if call.reviewers_see_commune_opinions {
            "oui"
        } else {
            "non"
        }),
    );
    v
}

fn split_deadline(at: Option<&str>, default_time: &str) -> (String, String) {
    match at.and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
        // The offset is Paris's: the wall-clock time is the one shown.
        Some(dt) => (
            dt.format("%d/%m/%Y").to_string(),
            dt.format("%H:%M").to_string(),
        ),
        None => (String::new(), default_time.to_owned()),
    }
}

fn blank_values() -> Map<String, Json> {
    let rule_set = RuleSet::find(crate::domain::eligibility::DEFAULT_RULES_VERSION);
    let mut v = Map::new();
    v.insert("opens_time".into(), json!("09:00"));
    v.insert("closes_time".into(), json!("12:00"));
    v.insert(
        "min_reviews".into(),
        json!(rules::DEFAULT_MIN_REVIEWS.to_string()),
    );
    v.insert(
        "rules_version".into(),
        json!(crate::domain::eligibility::DEFAULT_RULES_VERSION),
    );
    if let Some(rs) = rule_set {
        v.insert(
            "max_award".into(),
            json!(euros_input(rs.max_award_cap_cents)),
        );
    }
    v.insert("convention".into(), json!(ConventionPolicy::default()));
    v.insert(
        "convention_threshold".into(),
        json!(euros_input(CONVENTION_THRESHOLD.value())),
    );
    v.insert(
        "report_due_months".into(),
        json!(DEFAULT_REPORT_DUE_MONTHS.to_string()),
    );
    v.insert(
        "commune_opinion_days".into(),
        json!(crate::domain::commune_opinion::DEFAULT_DAYS.to_string()),
    );
    v.insert("reviewers_see_commune_opinions".into(), json!("non"));
    v
}

fn convention_options() -> Vec<(String, String)> {
    ConventionPolicy::ALL
        .into_iter()
        .map(|p| {
            let label = match p {
                ConventionPolicy::AboveThreshold => {
                    "Au-delà du seuil (loi n° 2000-321, art. 10 : 23 000 €)"
                }
                ConventionPolicy::Always => "Toujours, quel que soit le montant",
                ConventionPolicy::Never => "Jamais (l'arrêté attributif suffit)",
            };
            (p.as_str().to_owned(), label.to_owned())
        })
        .collect()
}

fn rule_options() -> Vec<(String, String)> {
    RuleSet::known_versions()
        .into_iter()
        .map(|v| {
            let label = match v {
                "mel-2021" => "mel-2021 : délibération de 2021 (plafond 20 000 €)".to_owned(),
                "mel-2024" => "mel-2024 : délibération de 2024 (30 % du budget au plus)".to_owned(),
                other => other.to_owned(),
            };
            (v.to_owned(), label)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn render_form(
    ctx: &PageCtx,
    status: StatusCode,
    call: Option<&Call>,
    values: Map<String, Json>,
    errors: Errors,
    problem: Option<String>,
    notice: Option<&str>,
) -> Result<HttpResponse, WebError> {
    ctx.render_status(
        status,
        "calls_form.html",
        context! {
            call => call.map(ser),
            values => ser(&values),
            errors => ser(&errors.ordered(FIELDS)),
            problem => problem,
            notice => notice,
            rules => ser(&rule_options()),
            conventions => ser(&convention_options()),
        },
    )
}

/// A refusal that is not about a field (409, 412): said at the top of the form.
fn problem_of(e: ServiceError) -> Result<String, WebError> {
    match e {
        ServiceError::Conflict { message, .. } => Ok(message),
        ServiceError::StaleVersion(_) => Ok(
            "Cet appel a été modifié entre-temps par quelqu'un d'autre : rechargez la page \
             pour voir ses réglages actuels, puis recommencez."
                .into(),
        ),
        other => Err(other.into()),
    }
}

async fn new_form(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    staff(&ctx)?;
    render_form(
        &ctx,
        StatusCode::OK,
        None,
        blank_values(),
        Errors::default(),
        None,
        None,
    )
}

async fn create(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    let user = staff(&ctx)?;
    let (settings, errors) = read(&form, true);
    let mut errors = refused.and(errors);
    if errors.is_empty() {
        let budget = settings.get("budget_cents").and_then(Json::as_i64);
        let input = NewCall {
            title: form.get("title").to_owned(),
            description: form.get("description").to_owned(),
            rules_version: form.opt("rules_version").map(str::to_owned),
            opens_at: settings
                .get("opens_at")
                .and_then(Json::as_str)
                .map(str::to_owned),
            closes_at: settings
                .get("closes_at")
                .and_then(Json::as_str)
                .map(str::to_owned),
            budget_cents: budget.unwrap_or(0),
            max_award_cents: settings.get("max_award_cents").and_then(Json::as_i64),
            max_budget_share_pct: settings
                .get("max_budget_share_pct")
                .map(|v| v.as_u64().map(|p| p as u8)),
            territory: settings
                .get("territory")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
            min_reviews: settings
                .get("min_reviews")
                .and_then(Json::as_u64)
                .map(|v| v as u32),
            scoring_grid: None,
            required_documents: None,
            convention: settings
                .get("convention")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
            convention_threshold_cents: settings
                .get("convention_threshold_cents")
                .and_then(Json::as_i64),
            report_due_months: settings
                .get("report_due_months")
                .and_then(Json::as_u64)
                .map(|v| v as u32),
            // The schedule is set through the API; the form keeps the default.
            instalments: None,
            commune_opinion_days: settings
                .get("commune_opinion_days")
                .and_then(Json::as_u64)
                .map(|v| v as u32),
            reviewers_see_commune_opinions: settings
                .get("reviewers_see_commune_opinions")
                .and_then(Json::as_bool),
        };
        match calls::create(&ctx.state, &user, input).await {
            Ok(call) => {
                return Ok(see_other(&format!(
                    "/gestion/appels/{}/modifier?cree=1",
                    call.id
                )));
            }
            Err(e) => errors = Errors::from_service(e, field_of, "title")?,
        }
    }
    render_form(
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        form.values(),
        errors,
        None,
        None,
    )
}

async fn load(ctx: &PageCtx, id: String) -> Result<Call, WebError> {
    Ok(calls::get(&ctx.state, true, crate::services::calls::id(&id)?).await?)
}

#[derive(serde::Deserialize)]
struct Notice {
    cree: Option<String>,
    enregistre: Option<String>,
    publie: Option<String>,
}

async fn edit_form(
    ctx: PageCtx,
    id: web::Path<String>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, WebError> {
    staff(&ctx)?;
    let call = load(&ctx, id.into_inner()).await?;
    let notice = if q.cree.is_some() {
        Some("L'appel est créé, en brouillon : relisez-le, puis publiez-le.")
    } else if q.enregistre.is_some() {
        Some("Les modifications sont enregistrées.")
    } else if q.publie.is_some() {
        Some("L'appel est publié : les porteurs de projet le voient.")
    } else {
        None
    };
    render_form(
        &ctx,
        StatusCode::OK,
        Some(&call),
        values_of(&call),
        Errors::default(),
        None,
        notice,
    )
}

async fn save(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = staff(&ctx)?;
    let id = id.into_inner();
    let call = load(&ctx, id.clone()).await?;
    let (mut patch, errors) = read(&form, false);
    let mut errors = refused.and(errors);
    // The territory is sent only when its communes change (their order is not a change: a
    // call with submissions could not take it).
    if let Some(t) = patch.get("territory") {
        let typed: BTreeSet<String> = serde_json::from_value(t.clone()).unwrap_or_default();
        let here: BTreeSet<String> = call.territory.iter().cloned().collect();
        if typed == here {
            patch.remove("territory");
        }
    }
    let mut problem = None;
    if errors.is_empty() {
        let version = form.get("version").parse::<i32>().ok();
        match calls::update(
            &ctx.state,
            &user,
            crate::services::calls::id(&id)?,
            version,
            Json::Object(patch),
        )
        .await
        {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/gestion/appels/{id}/modifier?enregistre=1"
                )));
            }
            Err(e @ ServiceError::Invalid { .. }) => {
                errors = Errors::from_service(e, field_of, "title")?
            }
            Err(e) => problem = Some(problem_of(e)?),
        }
    }
    let status = if problem.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_form(
        &ctx,
        status,
        Some(&call),
        form.values(),
        errors,
        problem,
        None,
    )
}

fn render_confirm(
    ctx: &PageCtx,
    status: StatusCode,
    call: &Call,
    action: CallAction,
    problem: Option<String>,
) -> Result<HttpResponse, WebError> {
    ctx.render_status(
        status,
        "calls_confirm.html",
        context! {
            call => ser(call),
            publish => action == CallAction::Publish,
            problem => problem,
        },
    )
}

async fn confirm(ctx: PageCtx, id: String, action: CallAction) -> Result<HttpResponse, WebError> {
    staff(&ctx)?;
    let call = load(&ctx, id).await?;
    render_confirm(&ctx, StatusCode::OK, &call, action, None)
}

async fn confirm_publish(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    confirm(ctx, id.into_inner(), CallAction::Publish).await
}

async fn confirm_close(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    confirm(ctx, id.into_inner(), CallAction::Close).await
}

async fn act(
    CsrfForm { ctx, form: _ }: CsrfForm,
    id: String,
    action: CallAction,
) -> Result<HttpResponse, WebError> {
    let user = staff(&ctx)?;
    match calls::transition(&ctx.state, &user, crate::services::calls::id(&id)?, action).await {
        Ok(_) if action == CallAction::Publish => Ok(see_other(&format!(
            "/gestion/appels/{id}/modifier?publie=1"
        ))),
        Ok(_) => Ok(see_other(&format!(
            "/gestion/appels/{id}/classement?clos=1"
        ))),
        Err(e @ ServiceError::Conflict { .. }) => {
            let problem = problem_of(e)?;
            let call = load(&ctx, id).await?;
            render_confirm(&ctx, StatusCode::CONFLICT, &call, action, Some(problem))
        }
        Err(e) => Err(e.into()),
    }
}

async fn publish(checked: CsrfForm, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    act(checked, id.into_inner(), CallAction::Publish).await
}

async fn close(checked: CsrfForm, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    act(checked, id.into_inner(), CallAction::Close).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_typed_by_people() {
        assert_eq!(
            parse_date("05/01/2027"),
            NaiveDate::from_ymd_opt(2027, 1, 5)
        );
        assert_eq!(
            parse_date("2027-01-05"),
            NaiveDate::from_ymd_opt(2027, 1, 5)
        );
        assert_eq!(parse_date("31/02/2027"), None);
        assert_eq!(parse_time("9:00"), Some((9, 0)));
        assert_eq!(parse_time("12h30"), Some((12, 30)));
        assert_eq!(parse_time("12"), Some((12, 0)));
        assert_eq!(parse_time("25:00"), None);
    }

    #[test]
    fn a_deadline_is_paris_time_in_the_calls_own_form() {
        let form = Form::parse(b"closes_on=31%2F03%2F2027&closes_time=12%3A00");
        let mut errors = Errors::default();
        assert_eq!(
            deadline(&form, "closes_on", "closes_time", &mut errors).as_deref(),
            Some("2027-03-31T12:00:00+02:00")
        );
        let form = Form::parse(b"closes_on=demain&closes_time=12%3A00");
        assert_eq!(
            deadline(&form, "closes_on", "closes_time", &mut errors),
            None
        );
        assert!(errors.fields.contains_key("closes_on"));
    }

    #[test]
    fn communes_by_name_or_code() {
        let form = Form::parse("territory=Lille%2C+villeneuve+d%27ascq%0A59512".as_bytes());
        let mut errors = Errors::default();
        assert_eq!(
            communes(&form, &mut errors),
            Some(vec!["59350".into(), "59009".into(), "59512".into()])
        );
        assert!(errors.is_empty());
        let form = Form::parse("territory=Paris".as_bytes());
        communes(&form, &mut errors);
        assert!(errors.fields["territory"].contains("Paris"));
    }
}
