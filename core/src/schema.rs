//! Diesel's description of the tables; the same on both backends (a test checks the migrations agree).

diesel::table! {
    teams (id) {
        id -> BigInt,
        name -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        team_id -> Nullable<BigInt>,
        phone -> Nullable<Text>,
        working_hours -> Nullable<Text>,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    participants (id) {
        id -> BigInt,
        team_id -> BigInt,
        specialist_id -> BigInt,
        display_name -> Text,
        preferred_language -> Text,
        time_zone -> Text,
        birth_year -> Nullable<Integer>,
        status -> Text,
        enrolled_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        created_by -> BigInt,
        updated_at -> Timestamp,
        quiet_hours_start -> Text,
        quiet_hours_end -> Text,
        reminder_offsets -> Text,
        lock_screen_previews -> Bool,
        closed_reason -> Nullable<Text>,
        withdrawal_note -> Nullable<Text>,
        calendar_feed_token_hash -> Nullable<Text>,
        withdrawal_alerted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    enrolment_codes (id) {
        id -> BigInt,
        participant_id -> BigInt,
        code_hash -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        staff_id -> Nullable<BigInt>,
        participant_id -> Nullable<BigInt>,
        device_label -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        access_token_hash -> Text,
        access_expires_at -> Timestamp,
        refresh_token_hash -> Text,
        refresh_expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    used_refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> BigInt,
        used_at -> Timestamp,
    }
}

diesel::table! {
    auth_failures (id) {
        id -> BigInt,
        bucket -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        participant_id -> Nullable<BigInt>,
        subject_type -> Nullable<Text>,
        subject_id -> Nullable<BigInt>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    job_preferences (participant_id) {
        participant_id -> BigInt,
        goal -> Nullable<Text>,
        desired_roles -> Text,
        industries -> Text,
        interests -> Text,
        skills -> Text,
        experience -> Nullable<Text>,
        hours_per_week_min -> Nullable<Integer>,
        hours_per_week_max -> Nullable<Integer>,
        preferred_times -> Text,
        locations -> Text,
        max_commute_minutes -> Nullable<Integer>,
        avoid -> Text,
        disclosure -> Nullable<Text>,
        disclosure_notes -> Nullable<Text>,
        notes -> Nullable<Text>,
        version -> Integer,
        updated_at -> Timestamp,
        updated_by_kind -> Text,
        updated_by_id -> BigInt,
    }
}

diesel::table! {
    job_preference_changes (id) {
        id -> BigInt,
        participant_id -> BigInt,
        version -> Integer,
        changed_at -> Timestamp,
        changed_by_kind -> Text,
        changed_by_id -> BigInt,
        snapshot -> Text,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        participant_id -> Nullable<BigInt>,
        staff_id -> Nullable<BigInt>,
        session_id -> Nullable<BigInt>,
        platform -> Text,
        token -> Text,
        app_version -> Text,
        locale -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_registered_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        participant_id -> BigInt,
        sender_kind -> Text,
        sender_staff_id -> Nullable<BigInt>,
        body -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
        answer_due_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    contact_requests (id) {
        id -> BigInt,
        participant_id -> BigInt,
        kind -> Text,
        preferred_time -> Nullable<Text>,
        note -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        handled_at -> Nullable<Timestamp>,
        handled_by_staff_id -> Nullable<BigInt>,
        response_note -> Nullable<Text>,
        interview_id -> Nullable<BigInt>,
        alerted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        subject_kind -> Text,
        subject_id -> BigInt,
        key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    interviews (id) {
        id -> BigInt,
        participant_id -> BigInt,
        employer -> Text,
        role_title -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        time_zone -> Text,
        address -> Nullable<Text>,
        video_link -> Nullable<Text>,
        contact_person -> Nullable<Text>,
        specialist_attends -> Bool,
        notes -> Nullable<Text>,
        checklist -> Text,
        debrief -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        status -> Text,
        outcome -> Nullable<Text>,
        sequence -> Integer,
        created_by_kind -> Text,
        created_by_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        outcome_alerted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        recipient_kind -> Text,
        recipient_id -> BigInt,
        kind -> Text,
        dedupe_key -> Text,
        subject_type -> Nullable<Text>,
        subject_id -> Nullable<BigInt>,
        payload -> Text,
        due_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        notification_id -> BigInt,
        device_id -> Nullable<BigInt>,
        platform -> Text,
        outcome -> Text,
        provider_message_id -> Nullable<Text>,
        error -> Nullable<Text>,
        attempted_at -> Timestamp,
    }
}

diesel::table! {
    status_changes (id) {
        id -> BigInt,
        participant_id -> BigInt,
        from_status -> Nullable<Text>,
        to_status -> Text,
        closed_reason -> Nullable<Text>,
        note -> Nullable<Text>,
        changed_at -> Timestamp,
        changed_by_kind -> Text,
        changed_by_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    follow_up_plans (participant_id) {
        participant_id -> BigInt,
        phase -> Text,
        cadence_days -> Integer,
        next_contact_at -> Nullable<Timestamp>,
        last_contact_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        paused_until -> Nullable<Timestamp>,
        pause_reason -> Nullable<Text>,
        follow_up_check_at -> Nullable<Timestamp>,
        follow_up_check_stage -> Nullable<Text>,
        employer_check_at -> Nullable<Timestamp>,
        version -> Integer,
        updated_at -> Timestamp,
        updated_by_kind -> Text,
        updated_by_id -> Nullable<BigInt>,
        started_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        participant_id -> BigInt,
        employer -> Text,
        role_title -> Text,
        hours_per_week -> Double,
        competitive -> Bool,
        start_date -> Date,
        end_date -> Nullable<Date>,
        end_reason -> Nullable<Text>,
        end_note -> Nullable<Text>,
        recorded_by_kind -> Text,
        recorded_by_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        staff_id -> BigInt,
        team_id -> BigInt,
        participant_id -> Nullable<BigInt>,
        party -> Text,
        channel -> Text,
        reached -> Bool,
        employer -> Nullable<Text>,
        location -> Nullable<Text>,
        duration_minutes -> Nullable<Integer>,
        note -> Nullable<Text>,
        contacted_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    alerts (id) {
        id -> BigInt,
        participant_id -> BigInt,
        staff_id -> BigInt,
        kind -> Text,
        dedupe_key -> Text,
        subject_type -> Nullable<Text>,
        subject_id -> Nullable<BigInt>,
        cause_at -> Timestamp,
        status -> Text,
        raised_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<BigInt>,
        snoozed_until -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<BigInt>,
        resolution -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

// --- reassignments (migration 000012) ---
diesel::table! {
    reassignments (id) {
        id -> BigInt,
        participant_id -> BigInt,
        from_specialist_id -> BigInt,
        to_specialist_id -> BigInt,
        note -> Nullable<Text>,
        reassigned_by -> BigInt,
        reassigned_at -> Timestamp,
    }
}

// --- webhooks (migration 000013) ---
diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        url -> Text,
        description -> Text,
        status -> Text,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamp>,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (endpoint_id, event_type) {
        endpoint_id -> BigInt,
        event_type -> Text,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> BigInt,
        event_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_event_id -> BigInt,
        endpoint_id -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::joinable!(interviews -> participants (participant_id));
diesel::joinable!(deliveries -> notifications (notification_id));
diesel::joinable!(staff -> teams (team_id));
diesel::joinable!(participants -> teams (team_id));
diesel::joinable!(participants -> staff (specialist_id));
diesel::joinable!(enrolment_codes -> participants (participant_id));
diesel::joinable!(sessions -> participants (participant_id));
diesel::joinable!(sessions -> staff (staff_id));
diesel::joinable!(used_refresh_tokens -> sessions (session_id));
diesel::joinable!(job_preferences -> participants (participant_id));
diesel::joinable!(job_preference_changes -> participants (participant_id));
diesel::joinable!(devices -> participants (participant_id));
diesel::joinable!(devices -> staff (staff_id));
diesel::joinable!(devices -> sessions (session_id));
diesel::joinable!(messages -> participants (participant_id));
diesel::joinable!(contact_requests -> participants (participant_id));
diesel::joinable!(status_changes -> participants (participant_id));
diesel::joinable!(follow_up_plans -> participants (participant_id));
diesel::joinable!(jobs -> participants (participant_id));
diesel::joinable!(contacts -> participants (participant_id));
diesel::joinable!(alerts -> participants (participant_id));
diesel::joinable!(webhook_subscriptions -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> webhook_events (webhook_event_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    teams,
    staff,
    participants,
    enrolment_codes,
    sessions,
    used_refresh_tokens,
    auth_failures,
    audit_events,
    job_preferences,
    job_preference_changes,
    devices,
    messages,
    contact_requests,
    idempotency_keys,
    interviews,
    notifications,
    deliveries,
    status_changes,
    follow_up_plans,
    jobs,
    contacts,
    alerts,
    reassignments,
    webhook_endpoints,
    webhook_subscriptions,
    webhook_events,
    webhook_deliveries,
    webhook_attempts,
);
