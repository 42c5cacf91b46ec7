-- plutchik-stream audit schema, version 1.
-- Applied by `plutchik migrate` (and optionally at start-up), once per database, in a transaction.

-- One row per processed turn. (source_topic, source_partition, source_offset) is the turn's
-- identity in Kafka: replays insert nothing twice.
CREATE TABLE IF NOT EXISTS emotion_audit (
    id               bigserial PRIMARY KEY,
    event_id         text        NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    dialogue_id      text        NOT NULL,
    turn_id          text        NOT NULL,
    speaker          text        NOT NULL,
    role             text,
    tenant           text,
    scenario         text,
    topic            text,
    channel          text,
    text             text,        -- NULL when texts are stored hashed (PII option)
    text_sha256      text        NOT NULL,
    emotion          text        NOT NULL,
    confidence       real        NOT NULL,
    sector           text        NOT NULL,
    ring             text        NOT NULL,
    sarcasm          real        NOT NULL,
    intensity        real        NOT NULL,
    escalation_risk  real,
    escalation_alert boolean     NOT NULL DEFAULT false,
    model_version    text        NOT NULL,
    turn_ts          timestamptz NOT NULL,
    processed_at     timestamptz NOT NULL,
    event            jsonb       NOT NULL,  -- the event as published, for re-publication on replay
    UNIQUE (source_topic, source_partition, source_offset)
);
CREATE INDEX IF NOT EXISTS emotion_audit_dialogue ON emotion_audit (dialogue_id, turn_ts);
CREATE INDEX IF NOT EXISTS emotion_audit_turn_ts ON emotion_audit (turn_ts);

-- One row per escalation alert raised.
CREATE TABLE IF NOT EXISTS escalation_event (
    id               bigserial PRIMARY KEY,
    event_id         text        NOT NULL UNIQUE,
    dialogue_id      text        NOT NULL,
    turn_id          text        NOT NULL,
    tenant           text,
    risk             real        NOT NULL,
    horizon_seconds  real,
    trend            text,
    alert            jsonb       NOT NULL,
    raised_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS escalation_event_dialogue ON escalation_event (dialogue_id);

-- The compact state of each live dialogue (context summary, ODE state, last applied offset),
-- written in the same transaction as the audits it follows from.
CREATE TABLE IF NOT EXISTS dialogue_state (
    dialogue_id      text        PRIMARY KEY,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    last_offset      bigint      NOT NULL,
    state            bytea       NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dialogue_state_partition ON dialogue_state (source_topic, source_partition);

-- BI: one row per dialogue.
CREATE OR REPLACE VIEW dialogue_summary AS
SELECT a.dialogue_id,
       min(a.tenant)                                            AS tenant,
       min(a.scenario)                                          AS scenario,
       count(*)                                                 AS turns,
       min(a.turn_ts)                                           AS started_at,
       max(a.turn_ts)                                           AS last_turn_at,
       mode() WITHIN GROUP (ORDER BY a.emotion)                 AS dominant_emotion,
       avg(a.intensity)::real                                   AS mean_intensity,
       max(a.escalation_risk)::real                             AS peak_escalation_risk,
       count(*) FILTER (WHERE a.escalation_alert)               AS escalation_alerts,
       avg(a.sarcasm)::real                                     AS mean_sarcasm
FROM emotion_audit a
GROUP BY a.dialogue_id;

-- BI: the hourly emotion mix by tenant and scenario.
CREATE OR REPLACE VIEW emotion_mix_hourly AS
SELECT date_trunc('hour', turn_ts)  AS hour,
       coalesce(tenant, '')        AS tenant,
       coalesce(scenario, '')      AS scenario,
       sector,
       emotion,
       count(*)                    AS turns,
       avg(intensity)::real        AS mean_intensity
FROM emotion_audit
GROUP BY 1, 2, 3, 4, 5;
