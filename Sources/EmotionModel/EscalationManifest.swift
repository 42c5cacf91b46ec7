/// `manifest.json` next to the escalation weights: what they are, what they were trained on, how
/// well they do, and the alarm thresholds to use with them.
public struct EscalationManifest: Sendable, Codable {
    /// Format version of the model directory.
    public var version: Int
    /// When and how the weights were trained (command line).
    public var command: String
    /// SHA-256 of the training and validation files.
    public var trainSHA256: String
    public var valSHA256: String
    /// How the inter-turn gaps were synthesised.
    public var gaps: EscalationGaps
    /// The training settings.
    public var training: EscalationTrainer.Options
    /// The alert hysteresis to use.
    public var alarm: EscalationAlarm
    /// Validation metrics (next-2-turns AUROC/PR-AUC for ODE, GRU and persistence).
    public var val: EscalationReport
    /// Metrics on the training file's early-stopping hold-out.
    public var holdout: EscalationReport
}
