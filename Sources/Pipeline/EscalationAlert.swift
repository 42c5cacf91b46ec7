import Contracts
import Foundation

/// The escalation-alert message (`Schemas/escalation-alert.schema.json`).
struct EscalationAlert: Codable, Sendable {
    var eventID: String
    var dialogueID: String
    var turnID: Int
    var tenant: String?
    var scenario: String?
    var emotion: PlutchikEmotion
    var escalation: EscalationForecast
    var source: EmotionEvent.Source?
    var raisedAt: String

    init(event: EmotionEvent, escalation: EscalationForecast, raisedAt: Date) {
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
