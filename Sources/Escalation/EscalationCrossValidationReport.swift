/// The escalation forecaster's out-of-fold figures, as the model card and the manifest show them.
public struct EscalationCrossValidationReport: Sendable, Codable {
    /// How the folds were made and what was chosen where.
    public var method: String
    public var folds: Int
    /// Derailment conversations: the risk after the last comment shown, derailing against civil.
    public var derailment: DerailmentFigures?
    /// The labelled dialogues (the seed's training file), next-2-turns figures.
    public var seed: EscalationReport?
    /// Alerts with each fold's thresholds chosen on the other folds' seed dialogues (a report).
    public var seedAlerts: EscalationAlertReport?
    public var derailmentAlerts: EscalationAlertReport?
    /// The alarm chosen on every fold's seed dialogues together: the one shipped.
    public var chosenAlarm: EscalationAlarm
    /// The false-alert budget the thresholds were chosen under, per 100 calm dialogues.
    public var maxFalseAlertsPer100Calm: Double

    /// Risk after the last comment shown, derailing conversations against civil ones.
    public struct DerailmentFigures: Sendable, Codable, Equatable {
        public var conversations = 0
        public var derailing = 0
        public var auroc: Double?
        public var aurocGRU: Double?
        /// Share right when risk ≥ 0.5 says "derails".
        public var accuracy = 0.0
        public var accuracyGRU: Double?

        enum CodingKeys: String, CodingKey {
            case conversations, derailing, auroc, accuracy
            case aurocGRU = "auroc_gru", accuracyGRU = "accuracy_gru"
        }

        public init() {}
    }

    enum CodingKeys: String, CodingKey {
        case method, folds, derailment, seed
        case seedAlerts = "seed_alerts", derailmentAlerts = "derailment_alerts", chosenAlarm = "chosen_alarm"
        case maxFalseAlertsPer100Calm = "max_false_alerts_per_100_calm"
    }

    public init(method: String, folds: Int, chosenAlarm: EscalationAlarm, maxFalseAlertsPer100Calm: Double) {
        self.method = method; self.folds = folds; self.chosenAlarm = chosenAlarm
        self.maxFalseAlertsPer100Calm = maxFalseAlertsPer100Calm
    }
}
