-- The time of each dialogue's last applied turn (the turn's own time, not the write's), so a
-- dialogue reloaded on assignment keeps its idle window, and an assignment loads only the
-- dialogues still inside it (plus any an uncommitted record may replay).
ALTER TABLE dialogue_state ADD COLUMN IF NOT EXISTS last_turn_at timestamptz;
CREATE INDEX IF NOT EXISTS dialogue_state_partition_turn ON dialogue_state (source_topic, source_partition, last_turn_at);
-- Dormant dialogues are pruned by write time (`plutchik run --state-retention-hours`).
CREATE INDEX IF NOT EXISTS dialogue_state_updated ON dialogue_state (updated_at);
