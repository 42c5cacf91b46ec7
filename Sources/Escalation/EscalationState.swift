/// One live dialogue's escalation state: all the forecaster needs to carry between turns.
///
/// Small and `Codable`, so the pipeline can persist one per live dialogue (about 100 bytes of JSON
/// for a 16-dim latent) and resume after a restart.
public struct EscalationState: Sendable, Codable, Equatable {
    /// The latent emotional state h, right after the last turn's update.
    public var h: [Float]
    /// The last turn's timestamp in seconds, or nil before the first turn.
    public var lastTimestamp: Double?
    /// Whether an alert may fire (re-armed once risk falls below the lower threshold).
    public var armed: Bool
    /// The last turn's next-2-turns risk (for the trend).
    public var lastRisk: Float?
    /// Turns seen.
    public var turns: Int

    /// A fresh state: h = 0, armed, no turns.
    public init(latentDim: Int) {
        h = [Float](repeating: 0, count: latentDim)
        lastTimestamp = nil
        armed = true
        lastRisk = nil
        turns = 0
    }
}
