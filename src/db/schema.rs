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

diesel::table! {
    outbox (id) {
        id -> Text,
        message_id -> Text,
        event -> Text,
        audience -> Text,
        application_id -> Nullable<Text>,
        recipient -> Text,
        recipient_name -> Nullable<Text>,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}
