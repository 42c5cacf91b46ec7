import EmotionModel
import Foundation
import Kafka

/// The enriched emotion event published to the events topic (`Schemas/emotion-event.schema.json`).
struct TurnEvent: Codable, Sendable {
    struct Emotion: Codable, Sendable {
        var label: String
        var confidence: Float
        var sector: String
        var ring: String
        var probs: [String: Float]
    }
    struct Sarcasm: Codable, Sendable { var probability: Float }
    struct Model: Codable, Sendable { var version: String }
    struct Source: Codable, Sendable {
        var topic: String
        var partition: Int32
        var offset: Int64
        var timestamp_ms: Int64?
    }

    var event_id: String
    var dialogue_id: String
    var turn_id: String
    var speaker: String
    var role: String?
    var tenant: String?
    var scenario: String?
    var channel: String?
    var ts: String
    var emotion: Emotion
    var primaries: [String: Float]
    var sarcasm: Sarcasm
    var intensity: Float
    var escalation: EscalationSummary?
    var model: Model
    var source: Source
    var processed_at: String

    /// `topic/partition/offset`: the turn's identity, so consumers can de-duplicate.
    static func eventID(_ record: KafkaRecord) -> String {
        "\(record.topic)/\(record.partition)/\(record.offset)"
    }

    init(timed: TimedTurn, record: KafkaRecord, analysis: TurnAnalysis, modelVersion: String, processedAt: Date) {
        let turn = timed.turn
        let p = analysis.prediction
        event_id = Self.eventID(record)
        dialogue_id = turn.dialogueID
        turn_id = String(turn.turnID)
        speaker = turn.speaker
        role = turn.role?.rawValue
        tenant = turn.tenant
        scenario = turn.scenario
        channel = turn.channel
        ts = rfc3339(timed.timestamp)
        emotion = Emotion(
            label: p.label.rawValue, confidence: p.confidence, sector: p.label.sector.name, ring: p.label.ring.rawValue,
            probs: Dictionary(uniqueKeysWithValues: PlutchikEmotion.allCases.map { ($0.rawValue, p.probabilities[$0.index]) }))
        primaries = Dictionary(uniqueKeysWithValues: PlutchikSector.allCases.map { ($0.name, p.primaries[$0.rawValue]) })
        sarcasm = Sarcasm(probability: p.sarcasm)
        intensity = p.intensity
        escalation = analysis.escalation
        model = Model(version: modelVersion)
        source = Source(topic: record.topic, partition: record.partition, offset: record.offset, timestamp_ms: record.timestampMs)
        processed_at = rfc3339(processedAt)
    }
}

/// `2026-11-25T12:00:00.123Z`.
func rfc3339(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
}

extension JSONEncoder {
    /// An encoder for events: sorted keys, so the same event always has the same bytes.
    static func events() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
