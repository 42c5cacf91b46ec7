-- A turn's fields beyond the turn schema (a platform's queue, agent, interaction id, language…),
-- as the event's `attributes` object; NULL when the turn had none. Bounded by the validator
-- (`maxAttributesBytes`, 4 KiB of JSON by default).
ALTER TABLE emotion_audit ADD COLUMN IF NOT EXISTS attributes jsonb;
COMMENT ON COLUMN emotion_audit.attributes IS 'The input turn''s fields beyond the turn schema, as a JSON object (NULL: none)';
