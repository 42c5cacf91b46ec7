import Contracts
import Foundation

/// A validated turn with its resolved time.
public struct TimedTurn: Sendable, Equatable {
    public var turn: Turn
    /// The turn's `ts`, or the Kafka record's timestamp when it has none.
    public var timestamp: Date

    public init(turn: Turn, timestamp: Date) {
        self.turn = turn
        self.timestamp = timestamp
    }
}

/// Why a record goes to the dead-letter topic: a stable code and a reason naming the field.
public struct DeadLetterReason: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var reason: String
    /// The turn field at fault, when one is (`text`, `ts`, `dialogue_id`…).
    public var field: String?

    public init(_ code: String, _ reason: String, field: String? = nil) {
        self.code = code
        self.reason = reason
        self.field = field
    }

    public var description: String { "\(code): \(reason)" }
}

/// Checks raw records against the turn schema (``Turn/parse(_:)``) plus what the stream needs:
/// every string bounded in bytes, no control characters in ids and labels and no NUL anywhere
/// (PostgreSQL cannot store it), a sane timestamp, and an event that fits the producer's
/// `message.max.bytes`. What passes cannot fail later for what it holds.
public struct TurnValidator: Sendable {
    /// The longest text accepted, in characters.
    public var maxTextLength: Int = Turn.maxTextLength
    /// The longest text accepted, in UTF-8 bytes (one character can be many bytes).
    public var maxTextBytes: Int = 32_768
    /// The longest id or label (dialogue id, speaker, tenant, scenario, topic, channel) accepted, in bytes.
    public var maxIDLength: Int = 256
    /// The most JSON the turn's caller ``Turn/attributes`` (its fields beyond the schema) may take
    /// together, in bytes; they are carried into every event and audit row.
    public var maxAttributesBytes: Int = 4_096
    /// The producer's `message.max.bytes`: a turn whose event could exceed it is dead-lettered
    /// before it is analysed.
    public var maxMessageBytes: Int = 1_000_000
    /// The earliest acceptable turn time (default 2000-01-01T00:00:00Z): historical replays are fine,
    /// epoch-zero and garbage are not.
    public var earliest = Date(timeIntervalSince1970: 946_684_800)
    /// How far in the future a turn may lie (clock skew).
    public var maxFutureSkew: TimeInterval = 24 * 3600

    public init() {}

    /// Validates one record value; `recordTimestampMs` stands in for a missing `ts`.
    public func validate(_ value: [UInt8]?, recordTimestampMs: Int64?, now: Date = Date()) throws(DeadLetterReason) -> TimedTurn {
        guard let value, !value.isEmpty else { throw DeadLetterReason("empty", "the record has no value") }
        let turn: Turn
        do {
            turn = try Turn.parse(value, maxTextLength: maxTextLength)
        } catch {
            throw DeadLetterReason(error.code.rawValue, error.message, field: error.field)
        }
        let labels = [("dialogue_id", turn.dialogueID), ("speaker", turn.speaker), ("tenant", turn.tenant), ("scenario", turn.scenario),
                      ("topic", turn.topic), ("channel", turn.channel)]
        for case let (key, id?) in labels {
            guard id.utf8.count <= maxIDLength else {
                throw DeadLetterReason("field_too_long", "field '\(key)' is longer than \(maxIDLength) bytes", field: key)
            }
            guard !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw DeadLetterReason("control_characters", "field '\(key)' contains control characters", field: key)
            }
        }
        guard turn.text.utf8.count <= maxTextBytes else {
            throw DeadLetterReason("text_too_long", "text has \(turn.text.utf8.count) bytes; the limit is \(maxTextBytes)", field: "text")
        }
        guard !turn.text.utf8.contains(0) else {
            throw DeadLetterReason("control_characters", "text contains a NUL character", field: "text")
        }
        var attributesBytes = 0
        if !turn.attributes.isEmpty {
            guard !AnyJSON.object(turn.attributes).containsString(where: { $0.utf8.contains(0) }) else {
                throw DeadLetterReason("control_characters", "an attribute contains a NUL character", field: "attributes")
            }
            attributesBytes = (try? EmotionEvent.encoder().encode(turn.attributes).count) ?? .max
            guard attributesBytes <= maxAttributesBytes else {
                throw DeadLetterReason("attributes_too_large",
                                       "the fields beyond the turn schema (\(turn.attributes.keys.sorted().prefix(8).joined(separator: ", "))) take \(attributesBytes) bytes of JSON; the limit is \(maxAttributesBytes)", field: "attributes")
            }
        }
        // The event holds each string once, JSON-escaped, and the attributes, beside a bounded rest.
        let eventBytes = Self.eventOverhead + attributesBytes + ([turn.text] + labels.compactMap(\.1)).reduce(0) { $0 + Self.jsonEscapedCount($1) }
        guard eventBytes <= maxMessageBytes else {
            throw DeadLetterReason("event_too_large", "the event would be up to \(eventBytes) bytes; message.max.bytes is \(maxMessageBytes)")
        }
        let timestamp: Date
        switch turn.ts {
        case nil:
            timestamp = recordTimestampMs.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? now
        case .epochMilliseconds(let ms):
            timestamp = Date(timeIntervalSince1970: Double(ms) / 1000)
        case .rfc3339(let s):
            guard let d = RFC3339.date(s) else { throw DeadLetterReason("invalid_field", "ts '\(s)' is not a valid date-time", field: "ts") }
            timestamp = d
        }
        guard timestamp >= earliest, timestamp <= now.addingTimeInterval(maxFutureSkew) else {
            throw DeadLetterReason("timestamp_out_of_range",
                                   "ts \(EmotionEvent.timestamp(timestamp)) is before \(EmotionEvent.timestamp(earliest)) or more than \(Int(maxFutureSkew / 3600)) hours in the future", field: "ts")
        }
        return TimedTurn(turn: turn, timestamp: timestamp)
    }

    /// An event's bytes besides its strings (predictions, forecast, source, timestamps, key and
    /// framing), with room to spare.
    static let eventOverhead = 4_096

    /// The length of `s` as a JSON string body: control characters take up to 6 bytes, quote and
    /// backslash 2.
    static func jsonEscapedCount(_ s: String) -> Int {
        s.utf8.reduce(0) { n, b in n + (b < 0x20 ? 6 : (b == 0x22 || b == 0x5C) ? 2 : 1) }
    }
}
