import Foundation

/// The enriched event emitted for every turn (`Schemas/emotion-event.schema.json`).
///
/// `escalation` (the forecaster's output) and `source` (where the turn came from in Kafka) are
/// filled in by the stream processor and omitted when nil, as in offline scoring.
public struct EmotionEvent: Sendable, Codable, Equatable {
    public var eventID: String
    public var dialogueID: String
    public var turnID: Int
    public var speaker: String
    public var role: Turn.Role
    public var emotion: Emotion
    /// The 8 primary scores by sector name.
    public var primaries: [String: Float]
    public var sarcasm: Sarcasm
    public var intensity: Float
    public var model: Model
    /// When the event was built (RFC 3339, UTC, milliseconds).
    public var processedAt: String
    /// When the turn was said (RFC 3339, UTC), when known.
    public var ts: String?
    public var tenant: String?
    public var scenario: String?
    /// The turn's own `topic` (what the conversation is about; the Kafka topic is in `source`).
    public var topic: String?
    public var channel: String?
    /// The input turn's fields beyond the turn schema (omitted when none); the stream, the gateway and
    /// `score` redact the strings in them before they leave the process.
    public var attributes: [String: AnyJSON]?
    public var escalation: EscalationForecast?
    /// Why the turn got its emotion and what moved its dialogue's risk, when computed
    /// (alert turns always; every turn with `plutchik run --explain`).
    public var explanation: Explanation?
    public var source: Source?
    /// What was redacted from the turn's text and attributes before they left the process, entity
    /// (`card`, or a tenant pattern's name) → count; omitted when nothing was.
    public var redactions: [String: Int]?

    /// Where the turn was read from; `event_id` is `topic/partition/offset` in the stream.
    public struct Source: Sendable, Codable, Equatable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var timestampMs: Int64?

        public init(topic: String, partition: Int32, offset: Int64, timestampMs: Int64?) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.timestampMs = timestampMs
        }

        enum CodingKeys: String, CodingKey {
            case topic, partition, offset, timestampMs = "timestamp_ms"
        }
    }

    public struct Emotion: Sendable, Codable, Equatable {
        public var label: PlutchikEmotion
        public var confidence: Float
        /// The sector name (a dyad reports its first sector).
        public var sector: String
        public var ring: PlutchikRing
        /// All 32 class probabilities by emotion name.
        public var probs: [String: Float]
        /// The neutral gate: the calibrated probability that the turn carries no notable emotion.
        public var neutral: Float
        /// Whether `neutral` reached the heads' threshold; `label` stays the argmax of `probs`.
        public var isNeutral: Bool

        enum CodingKeys: String, CodingKey {
            case label, confidence, sector, ring, probs, neutral, isNeutral = "is_neutral"
        }
    }

    public struct Sarcasm: Sendable, Codable, Equatable {
        public var probability: Float
    }

    public struct Model: Sendable, Codable, Equatable {
        public var version: String
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", dialogueID = "dialogue_id", turnID = "turn_id", speaker, role, emotion, primaries
        case sarcasm, intensity, model, processedAt = "processed_at", ts, tenant, scenario, topic, channel, attributes, escalation, explanation, source, redactions
    }

    /// Builds the event for `turn` from the heads' prediction. The event id is derived from the
    /// dialogue, turn and model version, so re-processing a turn yields the same id.
    public init(turn: Turn, prediction p: EmotionPrediction, modelVersion: String, processedAt: Date = Date()) {
        self.init(turn: turn, prediction: p, modelVersion: modelVersion,
                  eventID: Self.eventID(dialogueID: turn.dialogueID, turnID: turn.turnID, modelVersion: modelVersion),
                  processedAt: Self.timestamp(processedAt))
    }

    /// Builds the event for `turn` with a given id and `processed_at` text (a stream processor
    /// formats the batch's time once).
    public init(turn: Turn, prediction p: EmotionPrediction, modelVersion: String, eventID: String, processedAt: String) {
        self.eventID = eventID
        dialogueID = turn.dialogueID
        turnID = turn.turnID
        speaker = turn.speaker
        role = turn.role ?? .other
        tenant = turn.tenant
        scenario = turn.scenario
        topic = turn.topic
        channel = turn.channel
        attributes = turn.attributes.isEmpty ? nil : turn.attributes
        emotion = Emotion(label: p.label, confidence: p.confidence, sector: p.label.sector.name, ring: p.label.ring,
                          probs: Dictionary(uniqueKeysWithValues: PlutchikEmotion.allCases.map { ($0.rawValue, p.probabilities[$0.index]) }),
                          neutral: p.neutral, isNeutral: p.isNeutral)
        primaries = Dictionary(uniqueKeysWithValues: PlutchikSector.allCases.map { ($0.name, p.primaries[$0.rawValue]) })
        sarcasm = Sarcasm(probability: p.sarcasm)
        intensity = p.intensity
        model = Model(version: modelVersion)
        self.processedAt = processedAt
    }

    /// A UUID-formatted id from SHA-256 of `dialogue_id`, `turn_id` and the model version.
    public static func eventID(dialogueID: String, turnID: Int, modelVersion: String) -> String {
        var b = SHA256.hash(Data("\(dialogueID)\u{0}\(turnID)\u{0}\(modelVersion)".utf8)).prefix(16).map { $0 }
        b[6] = (b[6] & 0x0F) | 0x80   // version 8 (custom), RFC 9562
        b[8] = (b[8] & 0x3F) | 0x80
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in b.enumerated() {
            if [4, 6, 8, 10].contains(i) { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The encoder of events and alerts: sorted keys, so the same event always has the same bytes.
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T12:00:00.123Z`.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}

/// Any JSON value, round-trippable through Codable: a turn's caller ``Turn/attributes``.
/// Integers that fit 64 bits stay exact; other numbers are doubles.
public indirect enum AnyJSON: Codable, Equatable, Hashable, Sendable {
    case null, bool(Bool), integer(Int64), number(Double), string(String), array([AnyJSON]), object([String: AnyJSON])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([AnyJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: AnyJSON].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// The value as a number, if it is one.
    var double: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    /// Whether any string or object key in the value satisfies `predicate`.
    public func containsString(where predicate: (String) -> Bool) -> Bool {
        switch self {
        case .string(let s): predicate(s)
        case .array(let a): a.contains { $0.containsString(where: predicate) }
        case .object(let o): o.contains { predicate($0.key) || $0.value.containsString(where: predicate) }
        default: false
        }
    }
}
