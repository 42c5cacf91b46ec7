-- A candidate model's predictions (`plutchik run --shadow-model DIR`), beside the audit and never
-- published: compare them with emotion_audit in SQL before switching models. Written in the same
-- transaction as the audits; a replay inserts nothing twice.
CREATE TABLE IF NOT EXISTS emotion_audit_shadow (
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    dialogue_id      text        NOT NULL,
    turn_id          bigint      NOT NULL,
    model_version    text        NOT NULL,
    emotion          text        NOT NULL,
    confidence       real        NOT NULL,
    sector           text        NOT NULL,
    sarcasm          real        NOT NULL,
    intensity        real        NOT NULL,
    neutral          real,
    is_neutral       boolean     NOT NULL,
    escalation_risk  real,
    escalation_alert boolean     NOT NULL,
    processed_at     timestamptz NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset, model_version)
);

COMMENT ON TABLE emotion_audit_shadow IS 'A shadow model''s predictions of audited turns (--shadow-model); join emotion_audit on the source columns';
COMMENT ON COLUMN emotion_audit_shadow.source_topic IS 'Input Kafka topic of the turn (joins emotion_audit)';
COMMENT ON COLUMN emotion_audit_shadow.source_partition IS 'Input Kafka partition of the turn (joins emotion_audit)';
COMMENT ON COLUMN emotion_audit_shadow.source_offset IS 'Input Kafka offset of the turn (joins emotion_audit)';
COMMENT ON COLUMN emotion_audit_shadow.dialogue_id IS 'The conversation the turn belongs to';
COMMENT ON COLUMN emotion_audit_shadow.turn_id IS 'The turn''s id within its dialogue';
COMMENT ON COLUMN emotion_audit_shadow.model_version IS 'The shadow model';
COMMENT ON COLUMN emotion_audit_shadow.emotion IS 'The shadow model''s predicted emotion';
COMMENT ON COLUMN emotion_audit_shadow.confidence IS 'Its probability, 0 to 1';
COMMENT ON COLUMN emotion_audit_shadow.sector IS 'Its sector on the wheel';
COMMENT ON COLUMN emotion_audit_shadow.sarcasm IS 'The shadow model''s sarcasm probability';
COMMENT ON COLUMN emotion_audit_shadow.intensity IS 'The shadow model''s intensity';
COMMENT ON COLUMN emotion_audit_shadow.neutral IS 'The shadow model''s neutral probability (NULL without a gate)';
COMMENT ON COLUMN emotion_audit_shadow.is_neutral IS 'Whether it called the turn neutral';
COMMENT ON COLUMN emotion_audit_shadow.escalation_risk IS 'The shadow model''s escalation risk';
COMMENT ON COLUMN emotion_audit_shadow.escalation_alert IS 'Whether the shadow model would have raised an alert here';
COMMENT ON COLUMN emotion_audit_shadow.processed_at IS 'When the turn was scored';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plutchik_reader') THEN
        GRANT SELECT ON emotion_audit_shadow TO plutchik_reader;
    END IF;
END
$$;
