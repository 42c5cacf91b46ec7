-- For BI teams: every table, view and column documented (psql's \d+ and BI tools show these), a
-- read-only role, and indexes that match the Grafana panel and the README's queries.

COMMENT ON TABLE emotion_audit IS 'One row per processed turn; (source_topic, source_partition, source_offset) is its identity in Kafka';
COMMENT ON COLUMN emotion_audit.id IS 'Surrogate key, in insertion order';
COMMENT ON COLUMN emotion_audit.event_id IS 'The published emotion event''s event_id (deterministic from the input offset)';
COMMENT ON COLUMN emotion_audit.source_topic IS 'Input Kafka topic of the turn';
COMMENT ON COLUMN emotion_audit.source_partition IS 'Input Kafka partition of the turn';
COMMENT ON COLUMN emotion_audit.source_offset IS 'Input Kafka offset of the turn';
COMMENT ON COLUMN emotion_audit.dialogue_id IS 'The conversation the turn belongs to (the input record''s key)';
COMMENT ON COLUMN emotion_audit.turn_id IS 'The turn''s id within its dialogue, as given by the caller';
COMMENT ON COLUMN emotion_audit.speaker IS 'Who spoke the turn, as given by the caller';
COMMENT ON COLUMN emotion_audit.role IS 'customer, agent, bot or other';
COMMENT ON COLUMN emotion_audit.tenant IS 'The caller''s tenant (per-tenant settings key on it); NULL when not given';
COMMENT ON COLUMN emotion_audit.scenario IS 'The caller''s scenario label; NULL when not given';
COMMENT ON COLUMN emotion_audit.topic IS 'The turn''s subject as given by the caller (not the Kafka topic); NULL when not given';
COMMENT ON COLUMN emotion_audit.channel IS 'The caller''s channel (chat, email, …); NULL when not given';
COMMENT ON COLUMN emotion_audit.text IS 'The turn''s text; NULL when texts are stored hashed (--hash-texts or the tenant''s hash_texts)';
COMMENT ON COLUMN emotion_audit.text_sha256 IS 'Hex SHA-256 of the turn''s UTF-8 text, always stored';
COMMENT ON COLUMN emotion_audit.emotion IS 'The predicted Plutchik emotion (argmax of the 32 classes), also for neutral turns';
COMMENT ON COLUMN emotion_audit.confidence IS 'The predicted emotion''s probability, 0 to 1';
COMMENT ON COLUMN emotion_audit.sector IS 'The predicted emotion''s sector on the wheel (one of the 8 primaries)';
COMMENT ON COLUMN emotion_audit.ring IS 'The predicted emotion''s ring: mild, primary, intense or dyadic';
COMMENT ON COLUMN emotion_audit.sarcasm IS 'Probability that the turn is sarcastic, 0 to 1';
COMMENT ON COLUMN emotion_audit.intensity IS 'Predicted emotional intensity, 0 to 1';
COMMENT ON COLUMN emotion_audit.escalation_risk IS 'Forecast probability that the dialogue escalates within the horizon; NULL before the forecast had a turn';
COMMENT ON COLUMN emotion_audit.escalation_alert IS 'Whether this turn raised an escalation alert (see escalation_event)';
COMMENT ON COLUMN emotion_audit.model_version IS 'The model that scored the turn (the event''s model.version)';
COMMENT ON COLUMN emotion_audit.turn_ts IS 'When the turn was said (the input''s timestamp; event time)';
COMMENT ON COLUMN emotion_audit.processed_at IS 'When the processor scored the turn (processing time)';
COMMENT ON COLUMN emotion_audit.event IS 'The emotion event as published (JSON), re-published unchanged on replay';
COMMENT ON COLUMN emotion_audit.neutral IS 'Calibrated probability that the turn carries no notable emotion; NULL in rows from before the neutral gate';
COMMENT ON COLUMN emotion_audit.is_neutral IS 'Whether neutral reached the model''s (or the tenant''s) threshold; neutral turns feed no emotional evidence to escalation';

COMMENT ON TABLE escalation_event IS 'One row per escalation alert raised';
COMMENT ON COLUMN escalation_event.id IS 'Surrogate key, in insertion order';
COMMENT ON COLUMN escalation_event.event_id IS 'The published alert''s event_id';
COMMENT ON COLUMN escalation_event.dialogue_id IS 'The escalating conversation';
COMMENT ON COLUMN escalation_event.turn_id IS 'The turn that raised the alert';
COMMENT ON COLUMN escalation_event.tenant IS 'The dialogue''s tenant; NULL when not given';
COMMENT ON COLUMN escalation_event.risk IS 'Forecast escalation probability when the alert was raised, 0 to 1';
COMMENT ON COLUMN escalation_event.horizon_seconds IS 'The forecast horizon in seconds';
COMMENT ON COLUMN escalation_event.trend IS 'rising, steady or falling';
COMMENT ON COLUMN escalation_event.alert IS 'The alert as published (JSON), with its explanation';
COMMENT ON COLUMN escalation_event.raised_at IS 'When the alert was raised (processing time)';

COMMENT ON TABLE dialogue_state IS 'The processor''s compact state of each live dialogue (internal: read by the processor on rebalance and restart)';
COMMENT ON COLUMN dialogue_state.dialogue_id IS 'The conversation';
COMMENT ON COLUMN dialogue_state.source_topic IS 'Input Kafka topic of the dialogue';
COMMENT ON COLUMN dialogue_state.source_partition IS 'Input Kafka partition of the dialogue';
COMMENT ON COLUMN dialogue_state.last_offset IS 'The last input offset folded into the state';
COMMENT ON COLUMN dialogue_state.state IS 'The encoded state (context summary, escalation ODE state), format in state_format';
COMMENT ON COLUMN dialogue_state.updated_at IS 'When the state was last written';
COMMENT ON COLUMN dialogue_state.last_turn_at IS 'Event time of the dialogue''s last turn (idle expiry runs on it)';
COMMENT ON COLUMN dialogue_state.state_format IS 'Format of the state bytes; a row in another format is dropped on load, never decoded';
COMMENT ON COLUMN dialogue_state.model_version IS 'The model that wrote the state; a row from another model is dropped on load';

COMMENT ON TABLE dead_letter_audit IS 'Records the dead-letter topic refused even cut down; each input offset still ends as one audit row or one dead letter';
COMMENT ON COLUMN dead_letter_audit.source_topic IS 'Input Kafka topic of the record';
COMMENT ON COLUMN dead_letter_audit.source_partition IS 'Input Kafka partition of the record';
COMMENT ON COLUMN dead_letter_audit.source_offset IS 'Input Kafka offset of the record';
COMMENT ON COLUMN dead_letter_audit.code IS 'Why the record was invalid (the dead letter''s error code)';
COMMENT ON COLUMN dead_letter_audit.reason IS 'The human-readable reason';
COMMENT ON COLUMN dead_letter_audit.value_bytes IS 'Size of the record''s value in bytes';
COMMENT ON COLUMN dead_letter_audit.recorded_at IS 'When the record was written here';

COMMENT ON VIEW dialogue_summary IS 'One row per dialogue over the audit table';
COMMENT ON COLUMN dialogue_summary.dialogue_id IS 'The conversation';
COMMENT ON COLUMN dialogue_summary.tenant IS 'The dialogue''s tenant';
COMMENT ON COLUMN dialogue_summary.scenario IS 'The dialogue''s scenario';
COMMENT ON COLUMN dialogue_summary.turns IS 'Turns audited';
COMMENT ON COLUMN dialogue_summary.started_at IS 'Event time of the first turn';
COMMENT ON COLUMN dialogue_summary.last_turn_at IS 'Event time of the last turn';
COMMENT ON COLUMN dialogue_summary.dominant_emotion IS 'The most frequent emotion over the turns that are not neutral';
COMMENT ON COLUMN dialogue_summary.mean_intensity IS 'Mean intensity over the turns that are not neutral';
COMMENT ON COLUMN dialogue_summary.peak_escalation_risk IS 'Highest escalation risk reached';
COMMENT ON COLUMN dialogue_summary.escalation_alerts IS 'Turns that raised an escalation alert';
COMMENT ON COLUMN dialogue_summary.mean_sarcasm IS 'Mean sarcasm probability over all turns';
COMMENT ON COLUMN dialogue_summary.neutral_turns IS 'Turns the neutral gate called neutral';

COMMENT ON VIEW emotion_mix_hourly IS 'Turns per hour (event time) by tenant, scenario, emotion and neutrality';
COMMENT ON COLUMN emotion_mix_hourly.hour IS 'The hour of turn_ts';
COMMENT ON COLUMN emotion_mix_hourly.tenant IS 'Tenant ('''' when not given)';
COMMENT ON COLUMN emotion_mix_hourly.scenario IS 'Scenario ('''' when not given)';
COMMENT ON COLUMN emotion_mix_hourly.sector IS 'The emotion''s sector';
COMMENT ON COLUMN emotion_mix_hourly.emotion IS 'The predicted emotion';
COMMENT ON COLUMN emotion_mix_hourly.turns IS 'Turns in the group';
COMMENT ON COLUMN emotion_mix_hourly.mean_intensity IS 'Mean intensity in the group';
COMMENT ON COLUMN emotion_mix_hourly.is_neutral IS 'Whether the group is the neutral turns';

COMMENT ON TABLE plutchik_schema_migrations IS 'The migrations applied (plutchik migrate), with the SHA-256 of each file';

-- The Grafana panel filters on processing time every refresh. (Event-time filters use
-- emotion_audit_turn_ts, one dialogue's turns emotion_audit_dialogue; BISchemaTests shows the plans.)
CREATE INDEX IF NOT EXISTS emotion_audit_processed_at ON emotion_audit (processed_at);

-- plutchik_reader: SELECT on what BI reads, nothing else. Created when the migrating user may
-- create roles; otherwise a notice says so and a DBA creates it and runs these grants. Give it to
-- login roles with GRANT plutchik_reader TO someone.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plutchik_reader') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
            RAISE NOTICE 'plutchik_reader not created: % may not create roles; create it (CREATE ROLE plutchik_reader NOLOGIN) and re-run the grants of 006_bi_comments_reader_indexes.sql', current_user;
            RETURN;
        END IF;
        BEGIN
            CREATE ROLE plutchik_reader NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database's migration created it just now (roles are cluster-wide)
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO plutchik_reader', current_schema());
    GRANT SELECT ON emotion_audit, escalation_event, dead_letter_audit, dialogue_summary, emotion_mix_hourly TO plutchik_reader;
END
$$;
COMMENT ON COLUMN plutchik_schema_migrations.version IS 'The migration file''s name without .sql';
COMMENT ON COLUMN plutchik_schema_migrations.sha256 IS 'Hex SHA-256 of the file as applied (a changed file is refused)';
COMMENT ON COLUMN plutchik_schema_migrations.applied_at IS 'When it was applied';
