//! The reviewers' pages (« Mes évaluations », DESIGN.md §9 and §13): the list of their
//! assignments with who they would judge; for one assignment, first the no-conflict
//! declaration or the recusal, then the application in full and the grid as a form (draft,
//! submission after a confirmation step), and the submitted review read-only.
//!
//! Every page reads through `services::reviews` with the caller's own assignment: someone
//! else's assignment is a 404, and no page ever reads another reviewer's review.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::{Value, context};
use serde_json::{Map, Value as Json};

use crate::domain::scoring::Recommendation;
use crate::domain::territory;
use crate::error::{AppError, ServiceError};
use crate::input::Paging;
use crate::services::reviews::{
    self, AcceptInput, AssignmentStatus, RecuseInput, ReviewInput, ReviewStatus, ReviewerDesk,
};
use crate::services::{applications, documents};
use crate::web::checked_form::{CsrfForm, RefillForm};
use crate::web::forms::{Errors, Form};
use crate::web::{PageCtx, WebError, see_other, ser};

/// The sentence a reviewer subscribes to by ticking the declaration's box; it is what the
/// service records as their statement.
pub const NO_CONFLICT_STATEMENT: &str = "Je déclare sur l'honneur n'avoir aucun lien personnel, \
     professionnel ou financier avec la structure candidate ni avec ses dirigeants, et ne pas \
     être en situation de conflit d'intérêts pour évaluer ce projet.";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/evaluations", web::get().to(list))
        .route("/evaluations/{id}", web::get().to(desk_page))
        .route("/evaluations/{id}/declarer", web::post().to(declare))
        .route("/evaluations/{id}/recuser", web::post().to(recuse))
        .route("/evaluations/{id}/evaluation", web::post().to(save))
        .route("/evaluations/{id}/soumettre", web::get().to(confirm_page))
        .route("/evaluations/{id}/soumettre", web::post().to(submit));
}

fn commune_label(code: &str) -> String {
    territory::commune_name(code)
        .map(str::to_owned)
        .unwrap_or_else(|| code.to_owned())
}

/// What the reviewer has to do next, said in French.
fn next_step(a: &reviews::Assignment) -> &'static str {
    use crate::domain::application_state::ApplicationState;
    match (a.status, a.review_status) {
        (AssignmentStatus::Recused, _) => "Aucune : vous vous êtes déporté·e",
        (_, Some(ReviewStatus::Submitted)) => "Aucune : évaluation soumise",
        _ if a.application_state != ApplicationState::UnderReview => {
            "Aucune : l'instruction est close"
        }
        (AssignmentStatus::Pending, _) => {
            "Déclarer l'absence de conflit d'intérêts ou vous déporter"
        }
        (AssignmentStatus::Accepted, Some(ReviewStatus::Draft)) => {
            "Terminer et soumettre l'évaluation"
        }
        (AssignmentStatus::Accepted, None) => "Évaluer le dossier",
    }
}

fn status_label(a: &reviews::Assignment) -> &'static str {
    match (a.status, a.review_status) {
        (AssignmentStatus::Pending, _) => "À déclarer",
        (AssignmentStatus::Recused, _) => "Déporté·e",
        (AssignmentStatus::Accepted, Some(ReviewStatus::Submitted)) => "Évaluation soumise",
        (AssignmentStatus::Accepted, Some(ReviewStatus::Draft)) => "Brouillon enregistré",
        (AssignmentStatus::Accepted, None) => "À évaluer",
    }
}

fn line(a: &reviews::Assignment) -> Value {
    context! {
        assignment => ser(a),
        commune => commune_label(&a.commune_insee),
        status_label => status_label(a),
        next_step => next_step(a),
    }
}

#[derive(serde::Deserialize)]
struct ListQuery {
    page: Option<u32>,
}

async fn list(ctx: PageCtx, q: web::Query<ListQuery>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    if user.role != crate::domain::account::Role::Reviewer {
        return Err(AppError::Forbidden(
            "« Mes évaluations » est l'espace des membres du comité de sélection.".into(),
        )
        .into());
    }
    let paging = Paging {
        page: q.page.unwrap_or(1).max(1),
        per_page: 50,
    };
    let page = reviews::list(&ctx.state, &user, paging).await?;
    let lines: Vec<Value> = page.items.iter().map(line).collect();
    let pages = u32::try_from((page.total + 49) / 50).unwrap_or(1).max(1);
    ctx.render(
        "reviewer_list.html",
        context! { lines, total => page.total, page => paging.page, pages },
    )
}

/// Everything the assignment's page shows; `values`/`errors` refill a refused form.
async fn render_desk(
    ctx: &PageCtx,
    id: String,
    status: StatusCode,
    values: Map<String, Json>,
    errors: Errors,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let desk = reviews::desk(
        &ctx.state,
        &user,
        crate::services::reviews::assignment_id(&id)?,
    )
    .await?;
    let a = &desk.assignment;
    // The application is read only once no conflict is declared (the service says so too).
    let (application, docs, activity, opinions) = if a.status == AssignmentStatus::Accepted {
        let app = applications::get(&ctx.state, &user, a.application_id.clone()).await?;
        let docs = documents::list(&ctx.state, &user, a.application_id.clone()).await?;
        // The communes' opinions, when the call lets its reviewers read them (§16).
        let opinions = match crate::services::commune_opinions::read(
            &ctx.state,
            &user,
            a.application_id.clone(),
        )
        .await
        {
            Ok(o) => o.opinions.unwrap_or_default(),
            Err(crate::error::ServiceError::Forbidden(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let activity: Vec<String> = app
            .project
            .activity_communes
            .iter()
            .map(|c| commune_label(c))
            .collect();
        (Some(app), docs, activity, opinions)
    } else {
        (None, Vec::new(), Vec::new(), Vec::new())
    };
    let values = if values.is_empty() {
        review_values(&desk)
    } else {
        values
    };
    let editable = a.status == AssignmentStatus::Accepted
        && a.application_state == crate::domain::application_state::ApplicationState::UnderReview
        && desk.review.as_ref().map(|r| r.status) != Some(ReviewStatus::Submitted);
    let criteria: Vec<Value> = desk
        .grid
        .iter()
        .map(|c| {
            let options: Vec<[String; 2]> = (0..=c.max_score)
                .map(|n| [n.to_string(), n.to_string()])
                .collect();
            context! {
                name => format!("score_{}", c.key),
                legend => format!("{} (coefficient {})", c.label, c.weight),
                hint => format!("Note de 0 (très insuffisant) à {} (excellent).", c.max_score),
                options,
            }
        })
        .collect();
    let recommendation = desk
        .review
        .as_ref()
        .and_then(|r| r.recommendation)
        .map(|r| r.label_fr().to_owned());
    ctx.render_status(
        status,
        "reviewer_assignment.html",
        context! {
            line => line(a),
            desk => ser(&desk),
            application => application.as_ref().map(ser),
            documents => ser(&docs),
            commune => commune_label(&a.commune_insee),
            activity,
            commune_opinions => ser(&opinions),
            editable,
            recommendation,
            // Written as on the agents' pages (« 76,0 »): one number, one way.
            score => desk.review.as_ref().and_then(|r| r.score).map(super::pages::score_fr),
            statement => NO_CONFLICT_STATEMENT,
            criteria,
            labels => crate::web::labels::answer_labels(),
            values => ser(&values),
            errors => ser(&errors),
            saved => ctx.req.query_string().contains("enregistre=1"),
            submitted => ctx.req.query_string().contains("soumise=1"),
        },
    )
}

/// The form's values from the saved draft (the form's field names).
fn review_values(desk: &ReviewerDesk) -> Map<String, Json> {
    let mut m = Map::new();
    if let Some(r) = &desk.review {
        for (k, v) in &r.scores {
            m.insert(format!("score_{k}"), Json::from(v.to_string()));
        }
        m.insert("comment".into(), Json::from(r.comment.clone()));
        if let Some(rec) = r.recommendation {
            m.insert("recommendation".into(), Json::from(rec.as_str()));
        }
    }
    m
}

async fn desk_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    render_desk(
        &ctx,
        id.into_inner(),
        StatusCode::OK,
        Map::new(),
        Errors::default(),
    )
    .await
}

async fn declare(
    CsrfForm { ctx, form }: CsrfForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    let mut errors = Errors::default();
    if form.get("no_conflict") != "oui" {
        errors.add(
            "no_conflict",
            "cochez la case pour déclarer l'absence de conflit d'intérêts, ou déportez-vous",
        );
    } else {
        let input = AcceptInput {
            statement: NO_CONFLICT_STATEMENT.to_owned(),
        };
        match reviews::accept(
            &ctx.state,
            &user,
            crate::services::reviews::assignment_id(&id)?,
            input,
        )
        .await
        {
            Ok(_) => return Ok(see_other(&format!("/evaluations/{id}"))),
            Err(e) => errors = Errors::from_service(e, |_| None, "no_conflict")?,
        }
    }
    render_desk(
        &ctx,
        id,
        StatusCode::UNPROCESSABLE_ENTITY,
        form.values(),
        errors,
    )
    .await
}

async fn recuse(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    if !refused.is_empty() {
        return render_desk(
            &ctx,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            form.values(),
            refused,
        )
        .await;
    }
    let input = RecuseInput {
        reason: form.get("reason").to_owned(),
    };
    let errors = match reviews::recuse(
        &ctx.state,
        &user,
        crate::services::reviews::assignment_id(&id)?,
        input,
    )
    .await
    {
        Ok(_) => return Ok(see_other(&format!("/evaluations/{id}"))),
        Err(ServiceError::Invalid { fields, .. })
            if fields
                .values()
                .flatten()
                .any(|m| m == "ce champ est obligatoire") =>
        {
            // The service's words fit any field; the page names what is missing.
            let mut errors = Errors::default();
            errors.add(
                "reason",
                "indiquez le motif de votre déport (ce champ est obligatoire)",
            );
            errors
        }
        Err(e) => Errors::from_service(e, |_| Some("reason".into()), "reason")?,
    };
    render_desk(
        &ctx,
        id,
        StatusCode::UNPROCESSABLE_ENTITY,
        form.values(),
        errors,
    )
    .await
}

/// Reads the grid form into the service's input. A draft may be partial (DESIGN.md §9): what
/// is chosen is saved, what is not stays empty. Going on to submission (`complete`) needs
/// every note and the opinion, said beside each; every other rule is the service's.
fn review_input(
    form: &Form,
    grid: &[crate::domain::call::ScoringCriterion],
    complete: bool,
    errors: &mut Errors,
) -> Option<ReviewInput> {
    let mut scores = BTreeMap::new();
    for c in grid {
        let name = format!("score_{}", c.key);
        match form.get(&name).parse::<i64>() {
            Ok(v) => {
                scores.insert(c.key.clone(), v);
            }
            Err(_) if complete => {
                errors.add(&name, format!("choisissez une note pour « {} »", c.label))
            }
            Err(_) => {}
        }
    }
    let recommendation = Recommendation::parse(form.get("recommendation"));
    if recommendation.is_none() && complete {
        errors.add(
            "recommendation",
            "choisissez un avis : favorable, réservé ou défavorable",
        );
    }
    Some(ReviewInput {
        scores,
        comment: form.get("comment").to_owned(),
        recommendation,
    })
    .filter(|_| errors.is_empty())
}

/// « Enregistrer le brouillon » and « Soumettre » both save the draft first; « Soumettre »
/// then leads to the confirmation page.
async fn save(
    ctx: PageCtx,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    // A refused text keeps the draft from being saved (review_input reads nothing while
    // there are errors): the grid comes back with the message beside the comment.
    let mut errors = ctx.check_form(&form)?;
    let user = ctx.user()?;
    let id = id.into_inner();
    let desk = reviews::desk(
        &ctx.state,
        &user,
        crate::services::reviews::assignment_id(&id)?,
    )
    .await?;
    let submitting = form.get("action") == "soumettre";
    // What is chosen is saved first, even on the way to submission: nothing typed is lost.
    if let Some(input) = review_input(&form, &desk.grid, false, &mut errors) {
        match reviews::save_draft(
            &ctx.state,
            &user,
            crate::services::reviews::assignment_id(&id)?,
            input,
        )
        .await
        {
            Ok(_) if submitting => {
                let mut missing = Errors::default();
                if review_input(&form, &desk.grid, true, &mut missing).is_some() {
                    return Ok(see_other(&format!("/evaluations/{id}/soumettre")));
                }
                errors = missing;
            }
            Ok(_) => return Ok(see_other(&format!("/evaluations/{id}?enregistre=1#grille"))),
            Err(e @ ServiceError::Invalid { .. }) => {
                errors = Errors::from_service(
                    e,
                    |p| match p.strip_prefix("scores.") {
                        Some(k) => Some(format!("score_{k}")),
                        None => (p == "comment").then(|| p.to_owned()),
                    },
                    "comment",
                )?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut order: Vec<String> = desk
        .grid
        .iter()
        .map(|c| format!("score_{}", c.key))
        .collect();
    order.extend(["comment".into(), "recommendation".into()]);
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    render_desk(
        &ctx,
        id,
        StatusCode::UNPROCESSABLE_ENTITY,
        form.values(),
        errors.ordered(&order),
    )
    .await
}

async fn render_confirm(
    ctx: &PageCtx,
    id: String,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let desk = reviews::desk(
        &ctx.state,
        &user,
        crate::services::reviews::assignment_id(&id)?,
    )
    .await?;
    let Some(review) = desk.review.clone() else {
        return Ok(see_other(&format!("/evaluations/{}", desk.assignment.id)));
    };
    if review.status == ReviewStatus::Submitted {
        return Ok(see_other(&format!("/evaluations/{}", desk.assignment.id)));
    }
    let recommendation = review.recommendation.map(Recommendation::label_fr);
    ctx.render_status(
        status,
        "reviewer_confirm.html",
        context! {
            line => line(&desk.assignment),
            desk => ser(&desk),
            recommendation,
            error,
        },
    )
}

async fn confirm_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    render_confirm(&ctx, id.into_inner(), StatusCode::OK, None).await
}

async fn submit(
    CsrfForm { ctx, form: _ }: CsrfForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    match reviews::submit(
        &ctx.state,
        &user,
        crate::services::reviews::assignment_id(&id)?,
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/evaluations/{id}?soumise=1"))),
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let message = e.message();
            let status = actix_web::ResponseError::status_code(&AppError::from(e));
            render_confirm(&ctx, id, status, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scores_are_written_as_on_the_agents_pages() {
        use super::super::pages::score_fr;
        assert_eq!(score_fr(72.0), "72,0");
        assert_eq!(score_fr(72.5), "72,5");
        assert_eq!(score_fr(66.67), "66,67");
        assert_eq!(score_fr(100.0), "100,0");
    }
}
