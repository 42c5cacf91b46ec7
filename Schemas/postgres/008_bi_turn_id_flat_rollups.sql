-- For BI teams: integer turn ids, a flattened view, and an hourly rollup the sink maintains.

-- turn_id was text, so ORDER BY turn_id put 10 before 2. Turns have always had integer ids (the
-- validator refuses others), so the existing rows convert as they are.
ALTER TABLE emotion_audit ALTER COLUMN turn_id TYPE bigint USING turn_id::bigint;
ALTER TABLE escalation_event ALTER COLUMN turn_id TYPE bigint USING turn_id::bigint;

-- One column per primary score and per escalation figure, read from the stored event.
CREATE OR REPLACE VIEW emotion_audit_flat AS
SELECT id, source_topic, source_partition, source_offset, dialogue_id, turn_id, speaker, role, tenant, scenario,
       emotion, confidence, sector, ring, neutral, is_neutral, sarcasm, intensity,
       (event->'primaries'->>'joy')::real          AS joy,
       (event->'primaries'->>'trust')::real        AS trust,
       (event->'primaries'->>'fear')::real         AS fear,
       (event->'primaries'->>'surprise')::real     AS surprise,
       (event->'primaries'->>'sadness')::real      AS sadness,
       (event->'primaries'->>'disgust')::real      AS disgust,
       (event->'primaries'->>'anger')::real        AS anger,
       (event->'primaries'->>'anticipation')::real AS anticipation,
       escalation_risk,
       (event->'escalation'->>'horizon_risk')::real         AS escalation_horizon_risk,
       (event->'escalation'->>'horizon_s')::real            AS escalation_horizon_seconds,
       event->'escalation'->>'trend'                        AS escalation_trend,
       (event->'escalation'->>'time_to_escalation_s')::real AS escalation_eta_seconds,
       escalation_alert, model_version, turn_ts, processed_at
FROM emotion_audit;

COMMENT ON VIEW emotion_audit_flat IS 'emotion_audit with the 8 primary scores and the escalation figures as columns';
COMMENT ON COLUMN emotion_audit_flat.id IS 'emotion_audit.id';
COMMENT ON COLUMN emotion_audit_flat.source_topic IS 'Input Kafka topic of the turn';
COMMENT ON COLUMN emotion_audit_flat.source_partition IS 'Input Kafka partition of the turn';
COMMENT ON COLUMN emotion_audit_flat.source_offset IS 'Input Kafka offset of the turn';
COMMENT ON COLUMN emotion_audit_flat.dialogue_id IS 'The conversation';
COMMENT ON COLUMN emotion_audit_flat.turn_id IS 'The turn''s id within its dialogue (an integer: ORDER BY works)';
COMMENT ON COLUMN emotion_audit_flat.speaker IS 'Who spoke the turn';
COMMENT ON COLUMN emotion_audit_flat.role IS 'customer, agent, bot or other';
COMMENT ON COLUMN emotion_audit_flat.tenant IS 'The caller''s tenant';
COMMENT ON COLUMN emotion_audit_flat.scenario IS 'The caller''s scenario label';
COMMENT ON COLUMN emotion_audit_flat.emotion IS 'The predicted emotion';
COMMENT ON COLUMN emotion_audit_flat.confidence IS 'Its probability';
COMMENT ON COLUMN emotion_audit_flat.sector IS 'Its sector';
COMMENT ON COLUMN emotion_audit_flat.ring IS 'Its ring';
COMMENT ON COLUMN emotion_audit_flat.neutral IS 'Probability of no notable emotion';
COMMENT ON COLUMN emotion_audit_flat.is_neutral IS 'Whether the turn was called neutral';
COMMENT ON COLUMN emotion_audit_flat.sarcasm IS 'Sarcasm probability';
COMMENT ON COLUMN emotion_audit_flat.intensity IS 'Intensity, 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.joy IS 'Primary score of joy (its ring classes plus half of its dyads), 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.trust IS 'Primary score of trust, 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.fear IS 'Primary score of fear, 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.surprise IS 'Primary score of surprise, 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.sadness IS 'Primary score of sadness, 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.disgust IS 'Primary score of disgust, 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.anger IS 'Primary score of anger, 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.anticipation IS 'Primary score of anticipation, 0 to 1';
COMMENT ON COLUMN emotion_audit_flat.escalation_risk IS 'Probability the dialogue escalates within the horizon';
COMMENT ON COLUMN emotion_audit_flat.escalation_horizon_risk IS 'The forecast risk at the horizon';
COMMENT ON COLUMN emotion_audit_flat.escalation_horizon_seconds IS 'The forecast horizon in seconds';
COMMENT ON COLUMN emotion_audit_flat.escalation_trend IS 'rising, steady or falling';
COMMENT ON COLUMN emotion_audit_flat.escalation_eta_seconds IS 'Forecast seconds until escalation, when the forecast crosses the alarm within the horizon';
COMMENT ON COLUMN emotion_audit_flat.escalation_alert IS 'Whether the turn raised an alert';
COMMENT ON COLUMN emotion_audit_flat.model_version IS 'The model that scored the turn';
COMMENT ON COLUMN emotion_audit_flat.turn_ts IS 'When the turn was said (event time)';
COMMENT ON COLUMN emotion_audit_flat.processed_at IS 'When it was scored (processing time)';

-- The hourly mix as a table the sink adds to in each batch's transaction (each offset counted
-- once; a replay adds nothing), instead of a view that groups the whole audit table. Hours are
-- UTC hours, whatever the session's time zone.
CREATE TABLE IF NOT EXISTS emotion_hourly (
    hour           timestamptz NOT NULL,
    tenant         text        NOT NULL,
    scenario       text        NOT NULL,
    sector         text        NOT NULL,
    emotion        text        NOT NULL,
    is_neutral     boolean     NOT NULL,
    turns          bigint      NOT NULL,
    intensity_sum  double precision NOT NULL,
    alerts         bigint      NOT NULL,
    PRIMARY KEY (hour, tenant, scenario, emotion, is_neutral)
);
INSERT INTO emotion_hourly
SELECT date_trunc('hour', turn_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', coalesce(tenant, ''), coalesce(scenario, ''), sector, emotion, is_neutral,
       count(*), sum(intensity), count(*) FILTER (WHERE escalation_alert)
FROM emotion_audit GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO NOTHING;

COMMENT ON TABLE emotion_hourly IS 'Turns per hour (event time), tenant, scenario, emotion and neutrality, kept up to date by the processor';
COMMENT ON COLUMN emotion_hourly.hour IS 'The hour of turn_ts, in UTC';
COMMENT ON COLUMN emotion_hourly.tenant IS 'Tenant ('''' when not given)';
COMMENT ON COLUMN emotion_hourly.scenario IS 'Scenario ('''' when not given)';
COMMENT ON COLUMN emotion_hourly.sector IS 'The emotion''s sector';
COMMENT ON COLUMN emotion_hourly.emotion IS 'The predicted emotion';
COMMENT ON COLUMN emotion_hourly.is_neutral IS 'Whether these are turns called neutral';
COMMENT ON COLUMN emotion_hourly.turns IS 'Turns in the group';
COMMENT ON COLUMN emotion_hourly.intensity_sum IS 'Sum of their intensities (divide by turns for the mean)';
COMMENT ON COLUMN emotion_hourly.alerts IS 'Escalation alerts they raised';

-- The view keeps its columns and reads the rollup.
CREATE OR REPLACE VIEW emotion_mix_hourly AS
SELECT hour, tenant, scenario, sector, emotion, turns, (intensity_sum / turns)::real AS mean_intensity, is_neutral
FROM emotion_hourly;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plutchik_reader') THEN
        GRANT SELECT ON emotion_audit_flat, emotion_hourly TO plutchik_reader;
    END IF;
END
$$;
