// Written by hand to match both migration folders (diesel print-schema would give
// backend-specific types; only the types both backends share are used here).

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        full_name -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}
