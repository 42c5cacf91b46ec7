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
