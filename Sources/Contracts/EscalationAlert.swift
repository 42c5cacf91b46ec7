import Foundation

/// The escalation-alert message (`Schemas/escalation-alert.schema.json`): one per alert, naming the
/// triggering event's `event_id`.
public struct EscalationAlert: Codable, Sendable {
    public var eventID: String
    public var dialogueID: String
    public var turnID: Int
    public var tenant: String?
    public var scenario: String?
    /// The triggering turn's emotion.
    public var emotion: PlutchikEmotion
    public var escalation: EscalationForecast
    public var source: EmotionEvent.Source?
    /// When the alert was raised (RFC 3339, UTC, milliseconds).
    public var raisedAt: String

    /// The alert for `event`, whose forecast is `escalation`, raised at `raisedAt`.
    public init(event: EmotionEvent, escalation: EscalationForecast, raisedAt: Date) {
        eventID = event.eventID
        dialogueID = event.dialogueID
        turnID = event.turnID
        tenant = event.tenant
        scenario = event.scenario
        emotion = event.emotion.label
        self.escalation = escalation
        source = event.source
        self.raisedAt = EmotionEvent.timestamp(raisedAt)
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", dialogueID = "dialogue_id", turnID = "turn_id", tenant, scenario, emotion
        case escalation, source, raisedAt = "raised_at"
    }
}
