//! The mail events the use cases queue, built from the rows a transaction holds: what an
//! application's mail says of it, and the mail that tells a reviewer of an assignment. Both
//! the transitions (`start-review` assigns) and the reviews (an agent adds a reviewer, a
//! reviewer recuses) build them, so they live apart from both.

use crate::db::DbConnection;
use crate::db::applications::ApplicationRow;
use crate::db::calls::{self, CallRow};
use crate::domain::ids::{AssignmentId, UserId};
use crate::error::ServiceError;
use crate::notify::{ApplicationSummary, MailEvent};

/// What the mails of an application say about it.
pub fn summary(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    call: &CallRow,
) -> Result<ApplicationSummary, ServiceError> {
    let applicant = crate::db::users::find(conn, row.applicant_id.as_str())?.ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!("applicant {} missing", row.applicant_id))
    })?;
    Ok(ApplicationSummary {
        application_id: row.id.to_string(),
        reference: row.reference.clone(),
        call_id: call.id.to_string(),
        call_title: call.title.clone(),
        applicant_email: applicant.email,
        applicant_name: applicant.full_name,
        organisation_name: row.organisation_name.clone(),
        project_title: row.project_title.clone(),
        requested_cents: row.requested_cents.into(),
    })
}

/// The application and the call of a grant, which its mails speak of; the application is
/// locked, as the grant's moves change what it shows.
pub fn application_and_call(
    conn: &mut DbConnection,
    grant: &crate::db::grants::Grant,
) -> Result<(ApplicationRow, CallRow), ServiceError> {
    let row = crate::db::applications::find_for_update(conn, &grant.application_id)?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("grant without application")))?;
    let call = calls::find(conn, &grant.call_id)?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("grant without call")))?;
    Ok((row, call))
}

/// The mail telling `reviewer_id` of their assignment `assignment_id` to `row` (its link opens
/// the reviewer's page of that assignment).
pub fn assignment_mail(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    reviewer_id: &UserId,
    assignment_id: &AssignmentId,
) -> Result<MailEvent, ServiceError> {
    let call = calls::find(conn, &row.call_id)?.ok_or_else(crate::services::calls::not_found)?;
    let reviewer = crate::db::users::find(conn, reviewer_id.as_str())?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("reviewer {reviewer_id} missing")))?;
    let app = summary(conn, row, &call)?;
    Ok(MailEvent::ReviewerAssigned {
        app,
        assignment_id: assignment_id.to_string(),
        reviewer_email: reviewer.email,
        reviewer_name: reviewer.full_name,
    })
}
