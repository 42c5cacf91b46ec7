import Contracts
import Foundation

/// The compact per-dialogue state the heads read: the previous turn's embedding, a running
/// summary of the earlier turns' embeddings, the previous speaker and emoji, and the turn count.
///
/// Each turn is encoded once; `append` folds its embedding in, so history is never re-encoded.
/// Vectors are kept 8-bit quantised (one scale per vector), exactly as persisted, so a restored
/// context gives bit-identical predictions. Persisted as JSON it is about 1.2 KiB.
public struct DialogueContext: Sendable, Codable, Equatable {
    /// Turns appended so far.
    public private(set) var turns: Int = 0
    /// The speaker of the previous turn.
    public private(set) var previousSpeaker: String?
    /// The previous turn's embedding.
    public private(set) var previous: QuantizedVector?
    /// Mean of the earlier turns' embeddings (an exponential average, weight ¼, after four turns).
    public private(set) var summary: QuantizedVector?
    /// Emoji vocabulary indices of the previous turn (at most 8).
    public private(set) var previousEmoji: [Int] = []

    /// An empty context, for a dialogue's first turn.
    public init() {}

    /// Folds a finished turn into the context.
    public mutating func append(embedding: [Float], speaker: String, emoji: EmojiFeatures? = nil) {
        turns += 1
        let weight = max(1 / Float(turns), 0.25)
        if let summary {
            var s = summary.floats
            for i in s.indices { s[i] += weight * (embedding[i] - s[i]) }
            self.summary = QuantizedVector(s)
        } else {
            summary = QuantizedVector(embedding)
        }
        previous = QuantizedVector(embedding)
        previousSpeaker = speaker
        previousEmoji = Array((emoji?.indices ?? []).prefix(8))
    }

    enum CodingKeys: String, CodingKey {
        case turns, previousSpeaker = "previous_speaker", previous, summary, previousEmoji = "previous_emoji"
    }

    /// Writes the context as a compact binary record (`init(reading:)` reads it back).
    package func write(to w: inout BinaryWriter) {
        w.write(integer: turns)
        w.write(previousSpeaker) { $0.write($1) }
        for v in [previous, summary] {
            w.write(v) { w, v in
                w.write(v.scale)
                w.write(int8s: v.q)
            }
        }
        w.write(array: previousEmoji) { $0.write(Int32(clamping: $1)) }
    }

    package init(reading r: inout BinaryReader) throws {
        turns = try r.readInteger()
        previousSpeaker = try r.readOptional { try $0.read(String.self) }
        func vector(_ r: inout BinaryReader) throws -> QuantizedVector? {
            try r.readOptional { r in
                QuantizedVector(scale: try r.read(Float.self), q: try r.readInt8s())
            }
        }
        previous = try vector(&r)
        summary = try vector(&r)
        previousEmoji = try r.readArray(elementSize: 4) { Int(try $0.read(Int32.self)) }
    }
}

/// A vector stored as signed bytes times one scale (`value ≈ scale · q`); JSON: `{"scale", "q": base64}`.
public struct QuantizedVector: Sendable, Codable, Equatable {
    public var scale: Float
    public var q: [Int8]

    /// Quantises `v` symmetrically to 8 bits.
    public init(_ v: [Float]) {
        let maxAbs = v.reduce(0) { max($0, abs($1)) }
        scale = maxAbs > 0 ? maxAbs / 127 : 1
        let inv = 1 / scale
        q = v.map { Int8(max(-127, min(127, ($0 * inv).rounded()))) }
    }

    init(scale: Float, q: [Int8]) {
        self.scale = scale
        self.q = q
    }

    /// The dequantised values.
    public var floats: [Float] { q.map { Float($0) * scale } }

    enum CodingKeys: String, CodingKey { case scale, q }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scale = try c.decode(Float.self, forKey: .scale)
        guard let data = Data(base64Encoded: try c.decode(String.self, forKey: .q)) else {
            throw DecodingError.dataCorruptedError(forKey: .q, in: c, debugDescription: "q is not base64")
        }
        q = data.map { Int8(bitPattern: $0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scale, forKey: .scale)
        try c.encode(Data(q.map { UInt8(bitPattern: $0) }).base64EncodedString(), forKey: .q)
    }
}
