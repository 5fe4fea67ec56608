//! How the domain's types are stored (the whiteboard's « Db returns typed ids, state enums,
//! Cents »): ids and states as text, money as a `BIGINT` of cents. A value the database gives
//! back that the domain would refuse (an unknown state, a negative amount) is a read error,
//! not a value passed on.
//!
//! The impls are generic over the backend, so they serve PostgreSQL, SQLite and the
//! `MultiConnection`'s backend alike.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{BigInt, Text};

use crate::domain::account::Role;
use crate::domain::application_state::ApplicationState;
use crate::domain::assignment::AssignmentStatus;
use crate::domain::call::CallState;
use crate::domain::ids::{
    ApplicationId, AssignmentId, CallId, DocumentId, GrantId, InstalmentId, LetterId, OutboxId,
    ReviewId, UserId,
};
use crate::domain::money::Cents;
use crate::domain::review::ReviewStatus;
use crate::domain::scoring::Recommendation;

/// Written as its `as_str` text (ids and enums alike).
macro_rules! written_as_text {
    ($t:ty) => {
        impl<DB: Backend> ToSql<Text, DB> for $t
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }
    };
}

macro_rules! stored_as_text {
    ($($t:ty),* $(,)?) => {$(
        written_as_text!($t);

        impl<DB: Backend> FromSql<Text, DB> for $t
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                String::from_sql(bytes).map(<$t>::from_stored)
            }
        }
    )*};
}

stored_as_text!(
    ApplicationId,
    AssignmentId,
    CallId,
    DocumentId,
    GrantId,
    InstalmentId,
    LetterId,
    OutboxId,
    ReviewId,
    UserId,
);

/// An enum stored as its `as_str` text, read back by `parse`.
macro_rules! enum_as_text {
    ($t:ty, $what:literal, $parse:expr) => {
        written_as_text!($t);

        impl<DB: Backend> FromSql<Text, DB> for $t
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                let parse: fn(&str) -> Option<$t> = $parse;
                parse(&text).ok_or_else(|| format!(concat!($what, " inconnu : {:?}"), text).into())
            }
        }
    };
}

enum_as_text!(ApplicationState, "état de candidature", |s| s.parse().ok());
enum_as_text!(Role, "rôle", Role::parse);
enum_as_text!(CallState, "état d'appel", CallState::parse);
enum_as_text!(
    AssignmentStatus,
    "état d'affectation",
    AssignmentStatus::parse
);
enum_as_text!(ReviewStatus, "état d'évaluation", ReviewStatus::parse);
enum_as_text!(Recommendation, "recommandation", Recommendation::parse);

impl<DB: Backend> ToSql<BigInt, DB> for Cents
where
    i64: ToSql<BigInt, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <i64 as ToSql<BigInt, DB>>::to_sql(self.as_i64_ref(), out)
    }
}

impl<DB: Backend> FromSql<BigInt, DB> for Cents
where
    i64: FromSql<BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let cents = i64::from_sql(bytes)?;
        Cents::new(cents).map_err(|e| format!("montant lu en base : {e} ({cents})").into())
    }
}
