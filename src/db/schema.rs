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
        active -> Bool,
        generation -> Integer,
        email_verified_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
        commune_insee -> Nullable<Text>,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    throttle_events (id) {
        id -> Text,
        scope -> Text,
        subject -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    calls (id) {
        id -> Text,
        title -> Text,
        description -> Text,
        rules_version -> Text,
        opens_at -> Nullable<Timestamp>,
        closes_at -> Nullable<Timestamp>,
        budget_cents -> BigInt,
        max_award_cents -> BigInt,
        max_budget_share_pct -> Nullable<Integer>,
        territory -> Text,
        min_reviews -> Integer,
        scoring_grid -> Text,
        required_documents -> Text,
        state -> Text,
        version -> Integer,
        awarded_cents -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        convention -> Text,
        convention_threshold_cents -> BigInt,
        report_due_months -> Integer,
        instalment_schedule -> Text,
        commune_opinion_days -> Integer,
        reviewers_see_commune_opinions -> Bool,
    }
}

diesel::table! {
    reference_counters (year) {
        year -> Integer,
        last_value -> Integer,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        reference -> Text,
        call_id -> Text,
        applicant_id -> Text,
        state -> Text,
        version -> Integer,
        body -> Text,
        organisation_name -> Text,
        project_title -> Text,
        requested_cents -> BigInt,
        eligibility -> Nullable<Text>,
        eligibility_verdict -> Nullable<Text>,
        awarded_cents -> Nullable<BigInt>,
        decision_motivation -> Nullable<Text>,
        committee_date -> Nullable<Date>,
        decision_reference -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        org_key -> Nullable<Text>,
        search_text -> Nullable<Text>,
        commune_insee -> Nullable<Text>,
        purge_warned_at -> Nullable<Timestamp>,
        minimised_at -> Nullable<Timestamp>,
        referred_by_commune -> Nullable<Text>,
    }
}

diesel::table! {
    application_documents (id) {
        id -> Text,
        application_id -> Text,
        kind -> Text,
        filename -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        uploaded_by -> Text,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    document_chunks (document_id, seq) {
        document_id -> Text,
        seq -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        application_id -> Text,
        reviewer_id -> Text,
        status -> Text,
        statement -> Nullable<Text>,
        recusal_reason -> Nullable<Text>,
        assigned_by -> Text,
        assigned_at -> Timestamp,
        responded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        seq -> BigInt,
        application_id -> Nullable<Text>,
        call_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        action -> Text,
        from_state -> Nullable<Text>,
        to_state -> Nullable<Text>,
        payload -> Nullable<Text>,
        at -> Timestamp,
        salt -> Nullable<Text>,
        commitment -> Nullable<Text>,
        leaf -> Nullable<Text>,
        chain -> Nullable<Text>,
    }
}

diesel::table! {
    audit_checkpoints (id) {
        id -> Text,
        size -> BigInt,
        root -> Text,
        at -> Timestamp,
        public_key -> Text,
        signature -> Text,
    }
}

diesel::table! {
    reviews (id) {
        id -> Text,
        assignment_id -> Text,
        application_id -> Text,
        reviewer_id -> Text,
        scores -> Text,
        comment -> Text,
        recommendation -> Nullable<Text>,
        status -> Text,
        score_hundredths -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(applications -> calls (call_id));
diesel::joinable!(reviews -> assignments (assignment_id));
diesel::joinable!(reviews -> applications (application_id));
diesel::joinable!(applications -> users (applicant_id));
diesel::joinable!(application_documents -> applications (application_id));
diesel::joinable!(document_chunks -> application_documents (document_id));
diesel::joinable!(assignments -> applications (application_id));
diesel::joinable!(audit_events -> applications (application_id));

diesel::joinable!(account_tokens -> users (user_id));

diesel::table! {
    /// Kept by triggers (migration 2026-12-10-000100_application_counts), never written by essor.
    application_counts (call_id, state) {
        call_id -> Text,
        state -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    /// Accounts linked to ProConnect identities (DESIGN.md §17).
    proconnect_identities (sub, idp_id) {
        sub -> Text,
        idp_id -> Text,
        user_id -> Text,
        email -> Text,
        siret -> Nullable<Text>,
        linked_at -> Timestamp,
        last_sign_in_at -> Timestamp,
    }
}

diesel::table! {
    /// ProConnect sign-ins under way: `state` and `nonce`, bound to a browser.
    proconnect_flows (state) {
        state -> Text,
        browser_hash -> Text,
        nonce -> Text,
        acr -> Text,
        return_to -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(proconnect_identities -> users (user_id));

diesel::table! {
    /// The register's answers, a day (DESIGN.md §17).
    registry_cache (siret) {
        siret -> Text,
        fetched_at -> Timestamp,
        answer -> Text,
    }
}

diesel::table! {
    /// What the register said of an application's SIRET at its submission (§17).
    registry_evidence (application_id) {
        application_id -> Text,
        siret -> Text,
        source -> Text,
        status -> Text,
        retrieved_at -> Timestamp,
        answer -> Nullable<Text>,
        answer_sha256 -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(registry_evidence -> applications (application_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    registry_cache,
    registry_evidence,
    proconnect_identities,
    proconnect_flows,
    application_counts,
    account_tokens,
    calls,
    applications,
    application_documents,
    document_chunks,
    assignments,
    audit_events,
    reference_counters,
    reviews,
    grants,
    grant_reminders,
    grant_reports,
    instalments,
    letters,
    application_communes,
    commune_opinions,
    referrals,
);

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
        body_purged_at -> Nullable<Timestamp>,
        letter_id -> Nullable<Text>,
    }
}

diesel::table! {
    web_sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        data -> Text,
        generation -> Integer,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::joinable!(web_sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, web_sessions);

diesel::table! {
    personal_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        token_hash -> Text,
        hint -> Text,
        scopes -> Text,
        generation -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(personal_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, personal_tokens);

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_run_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        application_id -> Text,
        call_id -> Text,
        awarded_cents -> BigInt,
        state -> Text,
        convention_required -> Bool,
        report_due_on -> Date,
        signatory_name -> Nullable<Text>,
        signatory_quality -> Nullable<Text>,
        signed_at -> Nullable<Timestamp>,
        countersigned_at -> Nullable<Timestamp>,
        countersigned_by -> Nullable<Text>,
        bank_iban -> Nullable<Text>,
        bank_bic -> Nullable<Text>,
        bank_holder -> Nullable<Text>,
        bank_details_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        recovery_cents -> Nullable<BigInt>,
        recovery_motivation -> Nullable<Text>,
        recovery_requested_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    grant_reports (grant_id) {
        grant_id -> Text,
        body -> Text,
        version -> Integer,
        submitted_at -> Nullable<Timestamp>,
        changes_message -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    instalments (id) {
        id -> Text,
        grant_id -> Text,
        position -> Integer,
        label -> Text,
        percent -> Integer,
        fires_on -> Text,
        amount_cents -> BigInt,
        state -> Text,
        mandate_reference -> Nullable<Text>,
        paid_on -> Nullable<Date>,
        requested_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    grant_reminders (grant_id, kind) {
        grant_id -> Text,
        kind -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    letters (id) {
        id -> Text,
        application_id -> Text,
        grant_id -> Nullable<Text>,
        kind -> Text,
        sha256 -> Text,
        size_bytes -> BigInt,
        inputs -> Nullable<Text>,
        content -> Binary,
        issued_at -> Timestamp,
    }
}

diesel::table! {
    application_communes (application_id, commune_insee) {
        application_id -> Text,
        commune_insee -> Text,
    }
}

diesel::joinable!(application_communes -> applications (application_id));

diesel::table! {
    commune_opinions (application_id, commune_insee) {
        application_id -> Text,
        commune_insee -> Text,
        opinion -> Text,
        comment -> Text,
        author_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(commune_opinions -> applications (application_id));
diesel::joinable!(commune_opinions -> users (author_id));

diesel::table! {
    referrals (id) {
        id -> Text,
        code -> Text,
        commune_insee -> Text,
        call_id -> Text,
        organisation_name -> Text,
        email -> Text,
        message -> Text,
        author_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(referrals -> calls (call_id));

diesel::joinable!(grants -> applications (application_id));
diesel::joinable!(grants -> calls (call_id));
diesel::joinable!(instalments -> grants (grant_id));
diesel::joinable!(grant_reports -> grants (grant_id));
diesel::joinable!(letters -> applications (application_id));
