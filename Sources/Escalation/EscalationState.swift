import Contracts

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

extension EscalationState {
    /// Writes the state as a compact binary record (`init(reading:)` reads it back).
    package func write(to w: inout BinaryWriter) {
        w.write(array: h) { $0.write($1) }
        w.write(lastTimestamp) { $0.write($1) }
        w.write(armed)
        w.write(lastRisk) { $0.write($1) }
        w.write(integer: turns)
    }

    package init(reading r: inout BinaryReader) throws {
        h = try r.readArray(elementSize: 4) { try $0.read(Float.self) }
        lastTimestamp = try r.readOptional { try $0.read(Double.self) }
        armed = try r.read(Bool.self)
        lastRisk = try r.readOptional { try $0.read(Float.self) }
        turns = try r.readInteger()
    }
}
