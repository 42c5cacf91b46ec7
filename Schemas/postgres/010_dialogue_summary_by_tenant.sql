-- A dialogue is its tenant and its id (#40): two tenants' chat-1001 are two rows of
-- dialogue_summary, not one mixing their turns. Same columns as before; turns without a tenant
-- (NULL) are one dialogue per id, as they were.
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
GROUP BY a.dialogue_id, a.tenant;

COMMENT ON VIEW dialogue_summary IS 'One row per dialogue (tenant and id) over the audit table';
