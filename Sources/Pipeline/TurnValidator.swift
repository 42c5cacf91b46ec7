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

    public init(_ code: String, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }
}

/// Checks raw records against the turn schema (``Turn/parse(_:)``) plus what the stream needs:
/// bounded ids, no NUL in text (PostgreSQL cannot store it), a sane timestamp.
public struct TurnValidator: Sendable {
    /// The longest text accepted, in characters.
    public var maxTextLength: Int = Turn.maxTextLength
    /// The longest id (dialogue id, speaker) accepted, in bytes.
    public var maxIDLength: Int = 256
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
            throw DeadLetterReason(error.code.rawValue, error.message)
        }
        for (key, id) in [("dialogue_id", turn.dialogueID), ("speaker", turn.speaker)] {
            guard id.utf8.count <= maxIDLength else {
                throw DeadLetterReason("field_too_long", "field '\(key)' is longer than \(maxIDLength) bytes")
            }
            guard !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw DeadLetterReason("control_characters", "field '\(key)' contains control characters")
            }
        }
        guard !turn.text.unicodeScalars.contains("\u{0}") else {
            throw DeadLetterReason("control_characters", "text contains a NUL character")
        }
        let timestamp: Date
        switch turn.ts {
        case nil:
            timestamp = recordTimestampMs.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? now
        case .epochMilliseconds(let ms):
            timestamp = Date(timeIntervalSince1970: Double(ms) / 1000)
        case .rfc3339(let s):
            guard let d = RFC3339.date(s) else { throw DeadLetterReason("invalid_field", "ts '\(s)' is not a valid date-time") }
            timestamp = d
        }
        guard timestamp >= earliest, timestamp <= now.addingTimeInterval(maxFutureSkew) else {
            throw DeadLetterReason("timestamp_out_of_range",
                                   "ts \(EmotionEvent.timestamp(timestamp)) is before \(EmotionEvent.timestamp(earliest)) or more than \(Int(maxFutureSkew / 3600)) hours in the future")
        }
        return TimedTurn(turn: turn, timestamp: timestamp)
    }
}
