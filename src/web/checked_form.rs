//! The posted form, read and checked once (issue 31): a handler takes a [`CsrfForm`] or a
//! [`RefillForm`] instead of repeating « parse the body, check the token » at its top.
//!
//! Both are refused (403, nothing done) when the form's CSRF token is not this visitor's. They
//! differ on text the input guard refused (control characters, invisible marks…):
//! - [`CsrfForm`], for forms that are not shown again, refuses it with a page naming each
//!   field ([`PageCtx::check_csrf`]);
//! - [`RefillForm`], for forms shown again with the message beside each field, hands the
//!   refusals to the handler ([`PageCtx::check_form`]).

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use crate::web::forms::{Errors, Form};
use crate::web::{CSRF_FIELD, PageCtx};

/// A form whose token is this visitor's and whose text the input guard accepted.
pub struct CsrfForm {
    pub ctx: PageCtx,
    pub form: Form,
}

/// A form whose token is this visitor's, with the input guard's refusals to show beside the
/// fields.
pub struct RefillForm {
    pub ctx: PageCtx,
    pub form: Form,
    pub refused: Errors,
}

/// The page's context and the parsed body; a body actix refuses (too large, cut short) is
/// answered as it was when handlers took `web::Bytes`.
async fn read(req: HttpRequest, mut payload: Payload) -> Result<(PageCtx, Form), actix_web::Error> {
    let ctx = PageCtx::from_request(&req, &mut payload).await?;
    let body = web::Bytes::from_request(&req, &mut payload).await?;
    Ok((ctx, Form::parse(&body)))
}

impl FromRequest for CsrfForm {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let (ctx, form) = read(req, payload).await?;
            ctx.check_csrf(form.opt(CSRF_FIELD))
                .map_err(actix_web::Error::from)?;
            Ok(Self { ctx, form })
        })
    }
}

impl FromRequest for RefillForm {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let (ctx, form) = read(req, payload).await?;
            let refused = ctx.check_form(&form).map_err(actix_web::Error::from)?;
            Ok(Self { ctx, form, refused })
        })
    }
}
