-- emotion_audit partitioned by month of turn_ts, so old months can be dropped whole
-- (plutchik run --audit-retention-months) and time-filtered queries read only their months.
-- The existing rows move into the new table; nothing is dropped.
--
-- A partitioned table's unique keys must hold the partition key: a turn's identity is now
-- (source_topic, source_partition, source_offset, turn_ts). A replay has the same turn_ts (it is
-- the same record), so it still inserts nothing; the writer first deletes a row at the same
-- offset for another turn (a recreated topic), as it replaced it before.

DROP VIEW IF EXISTS dialogue_summary;
DROP VIEW IF EXISTS emotion_audit_flat;
ALTER TABLE emotion_audit RENAME TO emotion_audit_unpartitioned;
ALTER INDEX IF EXISTS emotion_audit_dialogue RENAME TO emotion_audit_unpartitioned_dialogue;
ALTER INDEX IF EXISTS emotion_audit_turn_ts RENAME TO emotion_audit_unpartitioned_turn_ts;
ALTER INDEX IF EXISTS emotion_audit_processed_at RENAME TO emotion_audit_unpartitioned_processed_at;

CREATE TABLE emotion_audit (LIKE emotion_audit_unpartitioned INCLUDING DEFAULTS INCLUDING COMMENTS)
    PARTITION BY RANGE (turn_ts);
ALTER SEQUENCE emotion_audit_id_seq OWNED BY emotion_audit.id;
ALTER TABLE emotion_audit ADD PRIMARY KEY (id, turn_ts);
ALTER TABLE emotion_audit ADD CONSTRAINT emotion_audit_source_key UNIQUE (source_topic, source_partition, source_offset, turn_ts);
CREATE INDEX emotion_audit_dialogue ON emotion_audit (dialogue_id, turn_ts);
CREATE INDEX emotion_audit_turn_ts ON emotion_audit (turn_ts);
CREATE INDEX emotion_audit_processed_at ON emotion_audit (processed_at);
CREATE TABLE emotion_audit_default PARTITION OF emotion_audit DEFAULT;
COMMENT ON TABLE emotion_audit IS 'One row per processed turn, partitioned by month of turn_ts (emotion_audit_YYYYMM; turns of months without a partition in emotion_audit_default); (source_topic, source_partition, source_offset) is its identity in Kafka';

-- Keeps the monthly partitions: creates those of the months from `back` months ago to two months
-- ahead, and with a retention of `keep` months (0: keep everything) drops whole partitions of
-- older months and deletes older rows from the default partition. Returns the partitions dropped.
-- plutchik run calls it at start and hourly.
CREATE OR REPLACE FUNCTION plutchik_maintain_audit_partitions(keep integer, back integer DEFAULT 1) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month timestamptz;
    name text;
    dropped integer := 0;
    cutoff timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(months => keep);
    part record;
BEGIN
    FOR i IN -back..2 LOOP
        month := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
        name := 'emotion_audit_' || to_char(month AT TIME ZONE 'UTC', 'YYYYMM');
        IF to_regclass(name) IS NULL AND (keep = 0 OR month >= cutoff) THEN
            -- Rows of that month already in the default partition move into the new one.
            EXECUTE format('CREATE TABLE %I (LIKE emotion_audit INCLUDING DEFAULTS)', name);
            EXECUTE format('WITH moved AS (DELETE FROM emotion_audit_default WHERE turn_ts >= %L AND turn_ts < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
                           month, month + interval '1 month', name);
            EXECUTE format('ALTER TABLE emotion_audit ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, month, month + interval '1 month');
        END IF;
    END LOOP;
    IF keep > 0 THEN
        FOR part IN
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'emotion_audit'::regclass AND c.relname ~ '^emotion_audit_[0-9]{6}$'
              AND to_date(substr(c.relname, 15), 'YYYYMM')::timestamp AT TIME ZONE 'UTC' < cutoff
        LOOP
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
        END LOOP;
        DELETE FROM emotion_audit_default WHERE turn_ts < cutoff;
    END IF;
    RETURN dropped;
END
$$;
COMMENT ON FUNCTION plutchik_maintain_audit_partitions(integer, integer) IS 'Creates emotion_audit''s monthly partitions ahead and drops those past the retention';

-- Partitions for the months the existing rows are in (at most two years back), then the rows.
SELECT plutchik_maintain_audit_partitions(0, greatest(1, least(24, coalesce(
    (SELECT (extract(year FROM age(date_trunc('month', now()), date_trunc('month', min(turn_ts)))) * 12
           + extract(month FROM age(date_trunc('month', now()), date_trunc('month', min(turn_ts)))))::integer
     FROM emotion_audit_unpartitioned), 1))));
INSERT INTO emotion_audit SELECT * FROM emotion_audit_unpartitioned;
DROP TABLE emotion_audit_unpartitioned;

-- The views over it, as they were.
CREATE VIEW dialogue_summary AS
SELECT a.dialogue_id,
       min(a.tenant)                                                      AS tenant,
       min(a.scenario)                                                    AS scenario,
       count(*)                                                           AS turns,
       min(a.turn_ts)                                                     AS started_at,
       max(a.turn_ts)                                                     AS last_turn_at,
       mode() WITHIN GROUP (ORDER BY a.emotion) FILTER (WHERE NOT a.is_neutral) AS dominant_emotion,
       (avg(a.intensity) FILTER (WHERE NOT a.is_neutral))::real           AS mean_intensity,
       max(a.escalation_risk)::real                                       AS peak_escalation_risk,
       count(*) FILTER (WHERE a.escalation_alert)                         AS escalation_alerts,
       avg(a.sarcasm)::real                                               AS mean_sarcasm,
       count(*) FILTER (WHERE a.is_neutral)                               AS neutral_turns
FROM emotion_audit a
GROUP BY a.dialogue_id;
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
CREATE VIEW emotion_audit_flat AS
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

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plutchik_reader') THEN
        GRANT SELECT ON emotion_audit, dialogue_summary, emotion_audit_flat TO plutchik_reader;
    END IF;
END
$$;
