import Foundation

/// `manifest.json` next to the escalation weights: what they are, what they were trained on, how
/// well they do, and the alarm thresholds to use with them.
public struct EscalationManifest: Sendable, Codable {
    /// Format version of the model directory.
    public var version: Int
    /// When and how the weights were trained (command line).
    public var command: String
    /// Content hashes of the training and validation files ("fnv1a64:<hex>").
    public var trainHash: String
    public var valHash: String
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
    /// The epochs the hold-out chose for the ODE model and the GRU baseline.
    public var bestEpochODE: Int
    public var bestEpochGRU: Int
    /// How the forecaster's training inputs were made (labels, cross-fitted heads predictions, ...).
    public var inputs: String?
    /// The commands that reproduce the model directory, in order.
    public var commands: [String]?
    /// Validation metrics with oracle inputs (the annotated emotions), an upper bound.
    public var valOracle: EscalationReport?
    /// The real-timing corpus used for distillation, if any.
    public var corpus: Corpus?
    /// Metrics on the corpus's held-out dialogues (real gaps, heads-distilled labels).
    public var realTiming: EscalationReport?
    /// Alerts on the validation file with the shipped alarm (a report: val chose nothing).
    public var valAlerts: EscalationAlertReport?
    /// Out-of-fold figures on the training data (derailment, seed, alerts) and the alarm they chose.
    public var crossValidation: EscalationCrossValidationReport?
    /// The derailment conversations trained on, if any.
    public var derailment: Derailment?
    /// Full SHA-256 hex digests of the weight files by name (`weights.json`, `gru.json`), checked at load.
    public var weightsSHA256: [String: String]?

    /// Derailment conversations: real conversations labelled by whether their next comment was
    /// removed for incivility.
    public struct Derailment: Sendable, Codable {
        public var file: String
        public var hash: String
        public var conversations: Int
        public var turns: Int
        public var derailing: Int
        /// The loss weight of each conversation (seed dialogues weigh 1).
        public var weight: Float

        public init(file: String, hash: String, conversations: Int, turns: Int, derailing: Int, weight: Float) {
            self.file = file; self.hash = hash; self.conversations = conversations; self.turns = turns
            self.derailing = derailing; self.weight = weight
        }
    }

    /// A distillation corpus with real timestamps.
    public struct Corpus: Sendable, Codable {
        public var file: String
        public var hash: String
        public var method: String
        public var dialogues: Int
        public var turns: Int
        public var trainDialogues: Int
        public var holdoutDialogues: Int
        public var holdoutPercent: Int
        /// The loss weight of each corpus dialogue (Plutchik dialogues weigh 1).
        public var weight: Float
        /// Share of scored turns whose next 2 turns escalate (teacher labels).
        public var positiveRate: Double
        /// Inter-turn gap quantiles in seconds ("p10", "p50", ...), and the synthetic gaps' for comparison.
        public var gapQuantilesSeconds: [String: Double]
        public var syntheticGapQuantilesSeconds: [String: Double]

        public init(file: String, hash: String, method: String, dialogues: Int, turns: Int, trainDialogues: Int,
                    holdoutDialogues: Int, holdoutPercent: Int, weight: Float, positiveRate: Double,
                    gapQuantilesSeconds: [String: Double], syntheticGapQuantilesSeconds: [String: Double]) {
            self.file = file; self.hash = hash; self.method = method; self.dialogues = dialogues; self.turns = turns
            self.trainDialogues = trainDialogues; self.holdoutDialogues = holdoutDialogues; self.holdoutPercent = holdoutPercent
            self.weight = weight; self.positiveRate = positiveRate
            self.gapQuantilesSeconds = gapQuantilesSeconds; self.syntheticGapQuantilesSeconds = syntheticGapQuantilesSeconds
        }
    }

    public init(version: Int, command: String, trainHash: String, valHash: String, gaps: EscalationGaps,
                training: EscalationTrainer.Options, alarm: EscalationAlarm, val: EscalationReport,
                holdout: EscalationReport, bestEpochODE: Int, bestEpochGRU: Int) {
        self.version = version; self.command = command; self.trainHash = trainHash; self.valHash = valHash
        self.gaps = gaps; self.training = training; self.alarm = alarm; self.val = val; self.holdout = holdout
        self.bestEpochODE = bestEpochODE; self.bestEpochGRU = bestEpochGRU
    }

    /// "fnv1a64:<hex>" of a file's bytes.
    public static func hash(fileAt url: URL) throws -> String {
        let data = try Data(contentsOf: url)
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "fnv1a64:" + String(h, radix: 16)
    }
}
