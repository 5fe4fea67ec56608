//! HTTP resources. Each module holds the handlers of one resource; `configure` mounts them all
//! through utoipa-actix-web, so a route cannot exist without appearing in the OpenAPI document.

pub mod admin_outbox;
pub mod applications;
pub mod auth;
pub mod calls;
pub mod communes;
pub mod documents;
pub mod errors;
pub mod etag;
pub mod exports;
pub mod finance;
pub mod grants;
pub mod health;
pub mod json_body;
pub mod links;
pub mod meta;
pub mod organisations;
pub mod problems;
pub mod reviews;
pub mod territory;
pub mod tokens;
pub mod users;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::live).service(health::ready);
    cfg.service(
        scope::scope("/api/v1")
            .service(meta::openapi_json)
            .service(auth::register)
            .service(auth::token)
            .service(auth::verify_email)
            .service(auth::resend_verification)
            .service(auth::password_reset)
            .service(auth::password_reset_confirm)
            .service(auth::accept_invitation)
            .service(grants::list_grants)
            .service(grants::get_grant)
            .service(grants::list_letters)
            .service(grants::download_letter)
            .service(grants::sign_convention)
            .service(grants::countersign_convention)
            .service(grants::lapse_grant)
            .service(grants::put_bank_details)
            .service(grants::request_recovery)
            .service(grants::close_recovery)
            .service(grants::get_report)
            .service(grants::put_report)
            .service(grants::submit_report)
            .service(grants::request_report_changes)
            .service(grants::approve_report)
            .service(documents::upload_report_annex)
            .service(documents::delete_report_annex)
            .service(users::me)
            .service(users::my_data)
            .service(users::update_me)
            .service(users::delete_me)
            .service(users::change_password)
            .service(tokens::create_token)
            .service(tokens::list_tokens)
            .service(tokens::get_token)
            .service(tokens::revoke_token)
            .service(users::invite)
            .service(users::list_users)
            .service(users::update_user)
            .service(calls::create_call)
            .service(calls::list_calls)
            .service(calls::get_call)
            .service(calls::update_call)
            .service(calls::publish_call)
            .service(calls::close_call)
            .service(exports::export_call)
            .service(finance::export_instalments)
            .service(finance::import_instalments)
            .service(finance::export_grants)
            .service(territory::statistics)
            .service(organisations::lookup)
            .service(organisations::evidence)
            .service(exports::publish_open_data)
            .service(communes::list)
            .service(communes::get_one)
            .service(communes::give_opinion)
            .service(communes::read_opinions)
            .service(communes::refer)
            .service(communes::list_referrals)
            .service(communes::get_referral)
            .service(applications::create_application)
            .service(applications::list_applications)
            .service(applications::get_application)
            .service(applications::update_application)
            .service(applications::register_structure)
            .service(applications::application_history)
            .service(applications::application_eligibility)
            .service(applications::submit)
            .service(applications::request_changes)
            .service(applications::declare_ineligible)
            .service(applications::start_review)
            .service(applications::withdraw)
            .service(documents::upload_document)
            .service(documents::list_documents)
            .service(documents::download_document)
            .service(documents::delete_document)
            .service(reviews::assign_reviewer)
            .service(reviews::list_assignments)
            .service(reviews::get_assignment)
            .service(reviews::accept_assignment)
            .service(reviews::recuse_assignment)
            .service(reviews::save_review)
            .service(reviews::get_review)
            .service(reviews::submit_review)
            .service(reviews::application_reviews)
            .service(reviews::call_ranking)
            .service(reviews::decision)
            .service(admin_outbox::list_outbox)
            .service(admin_outbox::retry_outbox),
    );
}
