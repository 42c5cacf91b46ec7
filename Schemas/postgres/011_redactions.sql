-- Issue #41: what the redactor replaced in each turn's text, entity → count ({"card": 1});
-- NULL when nothing (and for rows written before this migration, whose text was stored as
-- received: redaction does not reach back, so older rows keep any sensitive data they held).
ALTER TABLE emotion_audit ADD COLUMN IF NOT EXISTS redactions jsonb;
COMMENT ON COLUMN emotion_audit.redactions IS 'Findings redacted from the turn''s text by entity, e.g. {"card": 1} (NULL: none, or written before redaction)';
