-- Issue #40: a tenant is part of a dialogue's identity. Two tenants' "chat-1001" are two
-- dialogues: the processor keys its state by tenant and id, and so does the summary view.
-- Existing rows keep working: a dialogue without a tenant keeps its id as its key, and the
-- summary of a tenant-less dialogue is its own row, as before.
COMMENT ON COLUMN dialogue_state.dialogue_id IS 'The conversation''s key: its id, or its tenant, U+001F and its id when it has a tenant';

CREATE OR REPLACE VIEW dialogue_summary AS
SELECT a.dialogue_id,
       a.tenant                                                           AS tenant,
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
GROUP BY a.tenant, a.dialogue_id;
COMMENT ON VIEW dialogue_summary IS 'One row per dialogue (tenant and id) over the audit table';
