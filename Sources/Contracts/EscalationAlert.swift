import Foundation

/// The escalation-alert message (`Schemas/escalation-alert.schema.json`): one per alert, naming the
/// triggering event's `event_id`.
public struct EscalationAlert: Codable, Sendable {
    public var eventID: String
    public var dialogueID: String
    public var turnID: Int
    public var tenant: String?
    public var scenario: String?
    /// The turn's own `topic`.
    public var topic: String?
    /// The triggering turn's caller attributes (see ``EmotionEvent/attributes``).
    public var attributes: [String: AnyJSON]?
    /// The triggering turn's emotion.
    public var emotion: PlutchikEmotion
    public var escalation: EscalationForecast
    /// The triggering turn's explanation: its words behind the emotion, the turns that moved the risk.
    public var explanation: Explanation?
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
        topic = event.topic
        attributes = event.attributes
        emotion = event.emotion.label
        self.escalation = escalation
        explanation = event.explanation
        source = event.source
        self.raisedAt = EmotionEvent.timestamp(raisedAt)
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", dialogueID = "dialogue_id", turnID = "turn_id", tenant, scenario, topic, attributes, emotion
        case escalation, explanation, source, raisedAt = "raised_at"
    }
}
