//! The one extractor of a JSON body (issue 31): `JsonBody<T>` in a handler's arguments instead
//! of `web::Json<Value>` followed by `from_json`.
//!
//! The body's syntax and media type are checked when the request is extracted (400, 415, by
//! the application's `JsonConfig`, in French); its shape when the handler takes it with
//! [`JsonBody::take`] (a 422 naming the field, `input::from_json`). The two steps keep the
//! order the API documents: a handler that checks the caller's role first answers a reviewer
//! 403 before it judges what they sent.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{AppError, ServiceError};
use crate::input::from_json;

pub struct JsonBody<T>(Result<T, ServiceError>);

impl<T> JsonBody<T> {
    /// The body as a `T`, or the 422 that names what is wrong and where.
    pub fn take(self) -> Result<T, AppError> {
        self.0.map_err(AppError::from)
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = json.await?;
            Ok(Self(from_json(value)))
        })
    }
}
