/// Escalation metrics over a file's dialogues, for the next-2-turns label at every turn that has
/// a next turn. Keys match the `plutchik eval` report.
public struct EscalationReport: Sendable, Codable, Equatable {
    /// Dialogues and scored turns (turns with at least one next turn), and positives among them.
    public var dialogues = 0
    public var turns = 0
    public var positives = 0
    /// The ODE forecaster's next-2-turns risk.
    public var auroc: Double?
    public var prAUC: Double?
    /// Persistence: the current turn's anger + disgust primary scores.
    public var aurocPersistence: Double?
    public var prAUCPersistence: Double?
    /// The discrete GRU baseline (same cell, no ODE).
    public var aurocGRU: Double?
    public var prAUCGRU: Double?
    /// The ODE forecaster's riskHorizon against "an escalation turn within horizonSeconds".
    public var horizonAUROC: Double?
    /// The horizon risk's reliability: ten bins of predicted risk, each with its mean prediction,
    /// the observed rate and the turns in it (empty bins left out).
    public var horizonReliability: [ReliabilityBin]?
    /// Next-2-turns AUROC of the forecaster by the gap before the turn ("0-30s", "30-120s", ...).
    public var aurocByGap: [String: Double]?
    /// Alerts fired, and the dialogues with at least one escalation turn after their first turn.
    public var alerts = 0
    public var escalatingDialogues = 0

    enum CodingKeys: String, CodingKey {
        case dialogues = "escalation_dialogues", turns = "escalation_turns", positives = "escalation_positives"
        case auroc = "escalation_auroc", prAUC = "escalation_pr_auc"
        case aurocPersistence = "escalation_auroc_persistence", prAUCPersistence = "escalation_pr_auc_persistence"
        case aurocGRU = "escalation_auroc_gru", prAUCGRU = "escalation_pr_auc_gru"
        case horizonAUROC = "escalation_horizon_auroc"
        case alerts = "escalation_alerts", escalatingDialogues = "escalation_escalating_dialogues"
        case horizonReliability = "escalation_horizon_reliability", aurocByGap = "escalation_auroc_by_gap"
    }

    /// One bin of a reliability table.
    public struct ReliabilityBin: Sendable, Codable, Equatable {
        public var predicted: Double
        public var observed: Double
        public var count: Int

        public init(predicted: Double, observed: Double, count: Int) {
            self.predicted = predicted; self.observed = observed; self.count = count
        }
    }

    public init() {}
}
