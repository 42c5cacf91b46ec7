-- Issue #41: text_sha256 becomes a keyed hash. An unkeyed SHA-256 of a short text (a turn that is
-- little more than a card number) can be brute-forced; from now on the column holds
-- HMAC-SHA-256 of the (redacted) text under a per-deployment key, the same whether the text is
-- kept or dropped (--hash-texts), so BI can still join equal texts. The key is made here once,
-- from the server's strong random source (gen_random_uuid), unless the operator gives one
-- (PLUTCHIK_TEXT_HASH_SECRET), and no BI role may read it. Rows written before this migration
-- keep their unkeyed SHA-256: they cannot be re-keyed without their text, and hashed rows have
-- none; text_hash_keyed tells the two apart.
CREATE TABLE IF NOT EXISTS plutchik_text_hash_key (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    key        bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO plutchik_text_hash_key (key)
SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')
ON CONFLICT DO NOTHING;
REVOKE ALL ON plutchik_text_hash_key FROM PUBLIC;
COMMENT ON TABLE plutchik_text_hash_key IS 'The per-deployment key of emotion_audit.text_sha256 (HMAC-SHA-256); never granted to BI roles';
COMMENT ON COLUMN plutchik_text_hash_key.singleton IS 'Always true: one key per database';
COMMENT ON COLUMN plutchik_text_hash_key.key IS 'The HMAC key (32 random bytes), used unless PLUTCHIK_TEXT_HASH_SECRET is set';
COMMENT ON COLUMN plutchik_text_hash_key.created_at IS 'When the key was made';

ALTER TABLE emotion_audit ADD COLUMN IF NOT EXISTS text_hash_keyed boolean NOT NULL DEFAULT false;
ALTER TABLE emotion_audit ALTER COLUMN text_hash_keyed SET DEFAULT true;
COMMENT ON COLUMN emotion_audit.text_sha256 IS 'Hex HMAC-SHA-256 of the turn''s (redacted) UTF-8 text under the deployment''s key, always stored; an unkeyed SHA-256 where text_hash_keyed is false (rows written before migration 012)';
COMMENT ON COLUMN emotion_audit.text_hash_keyed IS 'Whether text_sha256 is keyed (true from migration 012 on)';
