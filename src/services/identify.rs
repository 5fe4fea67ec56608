//! Whoever a service is acting for, as the service's own database call learns it: an `Actor`
//! already checked, or a face's credential whose account check is still to run (the hot reads
//! fold that check into their one database call; `auth::Caller` implements this).

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::applications::ApplicationRow;
use crate::domain::actor::Actor;
use crate::error::ServiceError;

pub trait Identify: Clone + Send + 'static {
    /// The caller's account as it is now, checked on `conn` (the service's connection).
    fn identify(&self, conn: &mut DbConnection, now: NaiveDateTime) -> Result<Actor, ServiceError>;

    /// The caller and, where the credential lets the account check and the read share one
    /// statement (a bearer token: `db::applications::find_with_account`), application `id` if
    /// the caller may see it as staff or as its owner (`Some(None)`: not so). `None`: not
    /// read, the service reads it itself.
    fn identify_reading(
        &self,
        conn: &mut DbConnection,
        now: NaiveDateTime,
        id: &crate::domain::ids::ApplicationId,
    ) -> Result<(Actor, Option<Option<ApplicationRow>>), ServiceError> {
        let _ = id;
        Ok((self.identify(conn, now)?, None))
    }
}

impl Identify for Actor {
    fn identify(&self, _: &mut DbConnection, _: NaiveDateTime) -> Result<Actor, ServiceError> {
        Ok(self.clone())
    }
}
