/// Alerts judged the way an alerting system sees them: per dialogue, against the dialogue's first
/// escalating turn (`EscalationDialogue.firstEscalation`; for derailment data, the removed comment
/// after the last one shown).
///
/// An alert before the first escalation catches the dialogue; an alert in a calm dialogue is a
/// false alert. Alerts after the escalation began count as neither. Lone utterances (a dialogue
/// of one turn with nothing known to follow) are left out: nothing could confirm or refute an alert
/// on them, as no forecast label exists there.
public struct EscalationAlertReport: Sendable, Codable, Equatable {
    /// The thresholds judged (nil when each dialogue had its own: nested cross-validation).
    public var alarm: EscalationAlarm?
    /// Dialogues judged (lone utterances excluded).
    public var dialogues = 0
    /// Lone utterances left out (nil in reports made before they were).
    public var loneTurns: Int?
    public var escalatingDialogues = 0
    /// Escalating dialogues with an alert before their first escalating turn.
    public var caught = 0
    /// Alerts fired in calm dialogues, and the calm dialogues with at least one.
    public var falseAlerts = 0
    public var falselyAlertedDialogues = 0
    /// caught / (caught + falsely alerted dialogues).
    public var precision: Double?
    /// caught / escalating dialogues.
    public var recall: Double?
    /// False alerts per 100 calm dialogues.
    public var falseAlertsPer100Calm: Double?
    /// Median turns and seconds from the first alert to the first escalating turn, over caught dialogues.
    public var medianLeadTurns: Double?
    public var medianLeadSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case alarm, dialogues, caught, precision, recall, loneTurns = "lone_turns"
        case escalatingDialogues = "escalating_dialogues", falseAlerts = "false_alerts"
        case falselyAlertedDialogues = "falsely_alerted_dialogues", falseAlertsPer100Calm = "false_alerts_per_100_calm"
        case medianLeadTurns = "median_lead_turns", medianLeadSeconds = "median_lead_s"
    }

    public init() {}
}
