-- The neutral gate (heads-7 and later): the calibrated probability that a turn carries no notable
-- emotion, and whether it reached the model's threshold. Rows written before it have NULL / false.
ALTER TABLE emotion_audit ADD COLUMN IF NOT EXISTS neutral real;
ALTER TABLE emotion_audit ADD COLUMN IF NOT EXISTS is_neutral boolean NOT NULL DEFAULT false;

-- BI: one row per dialogue. The dominant emotion and the mean intensity are over the turns that
-- carry an emotion; neutral_turns counts the others.
CREATE OR REPLACE VIEW dialogue_summary AS
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

-- BI: the hourly emotion mix by tenant and scenario; neutral turns are their own rows
-- (is_neutral true), so filter on it to see the emotional mix alone.
CREATE OR REPLACE VIEW emotion_mix_hourly AS
SELECT date_trunc('hour', turn_ts)  AS hour,
       coalesce(tenant, '')        AS tenant,
       coalesce(scenario, '')      AS scenario,
       sector,
       emotion,
       count(*)                    AS turns,
       avg(intensity)::real        AS mean_intensity,
       is_neutral
FROM emotion_audit
GROUP BY 1, 2, 3, 4, 5, 8;
