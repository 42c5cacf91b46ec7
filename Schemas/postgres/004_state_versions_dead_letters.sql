-- Dialogue state is tagged with the format of its bytes and the model that wrote it. A row whose
-- tags differ from the running processor's is dropped on load (logged and counted), never decoded:
-- a model with another latent or embedding size must not read it. Rows written before this
-- migration have format 0 and no model version, so they are dropped once, on the first load.
ALTER TABLE dialogue_state ADD COLUMN IF NOT EXISTS state_format smallint NOT NULL DEFAULT 0;
ALTER TABLE dialogue_state ADD COLUMN IF NOT EXISTS model_version text;

-- Records that should have gone to the dead-letter topic but could not be published there even
-- truncated (a non-retriable publish error): each ends here instead, so every input offset still
-- ends as exactly one audit row or one dead letter.
CREATE TABLE IF NOT EXISTS dead_letter_audit (
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    code             text        NOT NULL,
    reason           text        NOT NULL,
    value_bytes      integer     NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_topic, source_partition, source_offset)
);
