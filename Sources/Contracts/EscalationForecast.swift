/// The escalation forecast after one turn; the `escalation` object of an emotion event.
public struct EscalationForecast: Sendable, Codable, Equatable {
    /// Whether risk is going up, down or neither since the previous turn.
    public enum Trend: String, Sendable, Codable {
        case rising, steady, falling
    }

    /// Probability that either of the next 2 turns (customer-side; any speaker when roles are
    /// unknown) is an escalation emotion.
    public var risk: Float
    /// Probability of an escalation turn within `horizonSeconds` of this turn.
    public var riskHorizon: Float
    /// The time horizon of `riskHorizon`, in seconds.
    public var horizonSeconds: Double
    /// Change in `risk` since the previous turn: beyond ±`trendThreshold` is rising/falling.
    public var trend: Trend
    /// Median time to the next escalation turn under the forecaster's hazard (when the cumulative
    /// hazard reaches ln 2), in seconds; nil when it is beyond the look-ahead (600 s by default).
    public var timeToEscalationSeconds: Double?
    /// Whether this turn fires an alert (risk crossed the upper threshold while armed).
    public var alert: Bool

    public init(risk: Float, riskHorizon: Float, horizonSeconds: Double, trend: Trend,
                timeToEscalationSeconds: Double?, alert: Bool) {
        self.risk = risk; self.riskHorizon = riskHorizon; self.horizonSeconds = horizonSeconds
        self.trend = trend; self.timeToEscalationSeconds = timeToEscalationSeconds; self.alert = alert
    }

    enum CodingKeys: String, CodingKey {
        case risk, trend, alert
        case riskHorizon = "horizon_risk"
        case horizonSeconds = "horizon_s"
        case timeToEscalationSeconds = "time_to_escalation_s"
    }
}
