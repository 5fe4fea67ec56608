//! The rows' ids, one type per table (issue 31: ids typed from the database to the page).

/// Ids of the rows of one table, typed so that a letter's id is never passed where a grant's
/// is expected. Stored as the UUID's text; anything else is refused at the door (a malformed
/// id in a path is « not found », like an unknown one).
macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            diesel::AsExpression,
            diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        // Stored as text: the conversions are `db::sql_types`' (the domain only names the type).
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(String);

        impl $name {
            /// A new id (UUID v7: time-ordered, so the newest rows sort last).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// `None` unless `s` is a UUID in its canonical lowercase form.
            pub fn parse(s: &str) -> Option<Self> {
                let uuid = uuid::Uuid::parse_str(s).ok()?;
                let canonical = uuid.to_string();
                (canonical == s).then_some(Self(canonical))
            }

            /// A UUID read in any of its spellings (a face that accepts upper case, say).
            pub fn from_uuid(uuid: uuid::Uuid) -> Self {
                Self(uuid.to_string())
            }

            /// From a row the database gave back (written by `new`).
            pub fn from_stored(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, for a row or a view that keeps it as such.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        /// Only a canonical UUID deserializes (what essor itself writes).
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("identifiant invalide : {text:?}"))
                })
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

row_id!(
    /// A grant (`grants.id`).
    GrantId
);
row_id!(
    /// A letter essor wrote (`letters.id`).
    LetterId
);
row_id!(
    /// An instalment of a grant (`instalments.id`).
    InstalmentId
);
row_id!(
    /// An application (`applications.id`).
    ApplicationId
);
row_id!(
    /// A call for projects (`calls.id`).
    CallId
);
row_id!(
    /// An account (`users.id`): an applicant, a reviewer, an agent, an admin or a commune.
    UserId
);
row_id!(
    /// A document attached to an application (`application_documents.id`).
    DocumentId
);
row_id!(
    /// A reviewer's assignment to an application (`assignments.id`).
    AssignmentId
);
row_id!(
    /// A reviewer's review (`reviews.id`).
    ReviewId
);
row_id!(
    /// A message of the outbox (`outbox.id`).
    OutboxId
);
row_id!(
    /// A personal access token of an account (`personal_tokens.id`).
    TokenId
);
row_id!(
    /// A commune's referral code (`referrals.id`).
    ReferralId
);

#[cfg(test)]
mod row_id_tests {
    use super::*;

    #[test]
    fn ids_are_canonical_uuids_only() {
        let id = GrantId::new();
        assert_eq!(GrantId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(GrantId::parse("not-a-uuid"), None);
        assert_eq!(GrantId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(LetterId::parse(""), None);
    }
}
