//! Whoever a service is acting for, as the service's own database call learns it: an `Actor`
//! already checked, or a face's credential whose account check is still to run (the hot reads
//! fold that check into their one database call; `auth::Caller` implements this).

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::domain::actor::Actor;
use crate::error::ServiceError;

pub trait Identify: Clone + Send + 'static {
    /// The caller's account as it is now, checked on `conn` (the service's connection).
    fn identify(&self, conn: &mut DbConnection, now: NaiveDateTime) -> Result<Actor, ServiceError>;
}

impl Identify for Actor {
    fn identify(&self, _: &mut DbConnection, _: NaiveDateTime) -> Result<Actor, ServiceError> {
        Ok(self.clone())
    }
}
