/// The alert's hysteresis: fire when risk reaches `upper` while armed, then stay quiet until risk
/// falls below `lower`, which re-arms. At most one alert per escalation episode per dialogue.
public struct EscalationAlarm: Sendable, Codable, Equatable {
    /// Risk at or above which an armed alarm fires.
    public var upper: Float
    /// Risk below which a fired alarm re-arms.
    public var lower: Float

    public init(upper: Float = 0.6, lower: Float = 0.4) {
        precondition(lower < upper, "the lower threshold must be below the upper one")
        self.upper = upper
        self.lower = lower
    }

    /// Steps the state machine with this turn's risk; returns whether an alert fires now.
    public func update(armed: inout Bool, risk: Float) -> Bool {
        if armed {
            if risk >= upper { armed = false; return true }
        } else if risk < lower {
            armed = true
        }
        return false
    }
}
