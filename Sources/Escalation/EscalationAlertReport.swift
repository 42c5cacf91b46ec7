/// Alerts judged the way an alerting system sees them: per dialogue, against the dialogue's first
/// escalating turn (`EscalationDialogue.firstEscalation`; for derailment data, the removed comment
/// after the last one shown).
///
/// An alert before the first escalation catches the dialogue; an alert in a calm dialogue is a
/// false alert. Alerts after the escalation began count as neither.
public struct EscalationAlertReport: Sendable, Codable, Equatable {
    /// The thresholds judged (nil when each dialogue had its own: nested cross-validation).
    public var alarm: EscalationAlarm?
    public var dialogues = 0
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
        case alarm, dialogues, caught, precision, recall
        case escalatingDialogues = "escalating_dialogues", falseAlerts = "false_alerts"
        case falselyAlertedDialogues = "falsely_alerted_dialogues", falseAlertsPer100Calm = "false_alerts_per_100_calm"
        case medianLeadTurns = "median_lead_turns", medianLeadSeconds = "median_lead_s"
    }

    public init() {}
}
