//! The rows' ids, one type per table (issue 31: ids typed from the database to the page).

/// Ids of the rows of one table, typed so that a letter's id is never passed where a grant's
/// is expected. Stored as the UUID's text; anything else is refused at the door (a malformed
/// id in a path is « not found », like an unknown one).
macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
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

            /// From a row the database gave back (written by `new`).
            pub fn from_stored(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
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
