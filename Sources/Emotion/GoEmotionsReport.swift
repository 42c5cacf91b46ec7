/// How the heads do on real single comments (GoEmotions mapped onto the wheel): what
/// `plutchik eval --goemotions` prints and the heads' manifest stores.
public struct GoEmotionsReport: Sendable, Codable, Equatable {
    /// Comments scored.
    public var n: Int
    /// Comments with a mapped class, and with a sector.
    public var classRows: Int
    public var sectorRows: Int
    /// Macro-F1 over the 16 Plutchik classes GoEmotions maps to, on the comments with a class; the
    /// prediction is the argmax of the 32 classes, and one outside the 16 counts as wrong.
    public var classMacroF1: Float
    public var classAccuracy: Float
    /// On the comments with a sector: the argmax of the 8 primary scores is that sector.
    public var sectorAccuracy: Float
    /// Neutral gate: AUROC of `neutral` against "only label is neutral", over every comment.
    public var neutralAUROC: Float?
    /// The gate at its threshold: precision, recall and F1 of `is_neutral`.
    public var neutralThreshold: Float
    public var neutralPrecision: Float
    public var neutralRecall: Float
    public var neutralF1: Float
    /// Expected calibration error of `neutral` (10 equal-width bins).
    public var neutralCalibrationError: Float
    /// How far the three goal figures move with the sample of comments (`plutchik eval`; nil in
    /// the heads' manifest).
    public var intervals: Intervals?

    /// 95 % percentile-bootstrap intervals: the comments drawn again with replacement, scored like
    /// the whole, `resamples` times; each bound is the 2.5th or 97.5th percentile of a figure.
    public struct Intervals: Sendable, Codable, Equatable {
        public var resamples: Int
        public var classMacroF1: ClosedRange<Float>
        public var sectorAccuracy: ClosedRange<Float>
        /// Nil when no resample had both neutral and other comments.
        public var neutralAUROC: ClosedRange<Float>?

        package init(resamples: Int, classMacroF1: ClosedRange<Float>, sectorAccuracy: ClosedRange<Float>, neutralAUROC: ClosedRange<Float>?) {
            self.resamples = resamples; self.classMacroF1 = classMacroF1; self.sectorAccuracy = sectorAccuracy; self.neutralAUROC = neutralAUROC
        }

        enum CodingKeys: String, CodingKey {
            case resamples, classMacroF1 = "class_macro_f1", sectorAccuracy = "sector_accuracy", neutralAUROC = "neutral_auroc"
        }
    }

    package init(n: Int, classRows: Int, sectorRows: Int, classMacroF1: Float, classAccuracy: Float, sectorAccuracy: Float,
                 neutralAUROC: Float?, neutralThreshold: Float, neutralPrecision: Float, neutralRecall: Float, neutralF1: Float,
                 neutralCalibrationError: Float) {
        self.n = n; self.classRows = classRows; self.sectorRows = sectorRows; self.classMacroF1 = classMacroF1
        self.classAccuracy = classAccuracy; self.sectorAccuracy = sectorAccuracy; self.neutralAUROC = neutralAUROC
        self.neutralThreshold = neutralThreshold; self.neutralPrecision = neutralPrecision; self.neutralRecall = neutralRecall
        self.neutralF1 = neutralF1; self.neutralCalibrationError = neutralCalibrationError
    }

    enum CodingKeys: String, CodingKey {
        case n, classRows = "class_rows", sectorRows = "sector_rows", classMacroF1 = "class_macro_f1"
        case classAccuracy = "class_accuracy", sectorAccuracy = "sector_accuracy", neutralAUROC = "neutral_auroc"
        case neutralThreshold = "neutral_threshold", neutralPrecision = "neutral_precision", neutralRecall = "neutral_recall"
        case neutralF1 = "neutral_f1", neutralCalibrationError = "neutral_calibration_error", intervals
    }

    /// The three figures the goals name, averaged: how heads are selected on GoEmotions dev.
    package var selectionScore: Float { (classMacroF1 + sectorAccuracy + (neutralAUROC ?? 0)) / 3 }
}
