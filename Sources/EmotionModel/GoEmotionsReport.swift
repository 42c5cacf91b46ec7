/// How the heads do on real single comments (GoEmotions mapped onto the wheel): what
/// `plutchik eval --goemotions` prints and the heads' manifest stores.
public struct GoEmotionsReport: Sendable, Codable, Equatable {
    /// Comments scored.
    public var n: Int
    /// Comments with a mapped class, and with a sector.
    public var classRows: Int
    public var sectorRows: Int
    /// Macro-F1 over `GoEmotionsComment.mappedClasses`, on the comments with a class; the
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

    enum CodingKeys: String, CodingKey {
        case n, classRows = "class_rows", sectorRows = "sector_rows", classMacroF1 = "class_macro_f1"
        case classAccuracy = "class_accuracy", sectorAccuracy = "sector_accuracy", neutralAUROC = "neutral_auroc"
        case neutralThreshold = "neutral_threshold", neutralPrecision = "neutral_precision", neutralRecall = "neutral_recall"
        case neutralF1 = "neutral_f1", neutralCalibrationError = "neutral_calibration_error"
    }

    /// Scores predictions of `comments` (same order), the gate at `neutralThreshold`.
    public init(predictions: [EmotionPrediction], comments: [GoEmotionsComment], neutralThreshold: Float) {
        precondition(predictions.count == comments.count)
        n = comments.count
        let mapped = GoEmotionsComment.mappedClasses
        let slot = Dictionary(uniqueKeysWithValues: mapped.enumerated().map { ($1, $0) })
        let classRows = comments.indices.filter { comments[$0].emotion != nil }
        // Slot `mapped.count` stands for every class outside the 16: it is never averaged, so a
        // prediction there only costs its row's true class.
        let predicted = classRows.map { slot[predictions[$0].label] ?? mapped.count }
        let actual = classRows.map { slot[comments[$0].emotion!] ?? mapped.count }
        let counts = classCounts(predicted: predicted, actual: actual, classes: mapped.count + 1)
        let f1s = (0..<mapped.count).filter { counts.seen[$0] }.map { f1Score(tp: counts.tp[$0], fp: counts.fp[$0], fn: counts.fn[$0]) }
        self.classRows = classRows.count
        classMacroF1 = f1s.isEmpty ? 0 : f1s.reduce(0, +) / Float(f1s.count)
        classAccuracy = accuracy(predicted: predicted, actual: actual)
        let sectorRows = comments.indices.filter { comments[$0].sector != nil }
        self.sectorRows = sectorRows.count
        sectorAccuracy = accuracy(predicted: sectorRows.map { r in Self.argmax(predictions[r].primaries) },
                                  actual: sectorRows.map { comments[$0].sector!.rawValue })
        let scores = predictions.map(\.neutral), labels = comments.map(\.neutral)
        let auc = auroc(scores: scores, labels: labels)
        neutralAUROC = auc.isNaN ? nil : auc
        self.neutralThreshold = neutralThreshold
        var tp = 0, fp = 0, fn = 0
        for (s, l) in zip(scores, labels) {
            if s >= neutralThreshold { if l { tp += 1 } else { fp += 1 } } else if l { fn += 1 }
        }
        neutralPrecision = tp + fp == 0 ? 0 : Float(tp) / Float(tp + fp)
        neutralRecall = tp + fn == 0 ? 0 : Float(tp) / Float(tp + fn)
        neutralF1 = f1Score(tp: tp, fp: fp, fn: fn)
        neutralCalibrationError = calibrationError(scores: scores, labels: labels)
    }

    static func argmax(_ v: [Float]) -> Int {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return best
    }

    /// The three figures the goals name, averaged: how heads are selected on GoEmotions dev.
    var selectionScore: Float { (classMacroF1 + sectorAccuracy + (neutralAUROC ?? 0)) / 3 }
}

/// Expected calibration error over `bins` equal-width probability bins: the count-weighted mean of
/// |mean score − positive rate| per bin.
func calibrationError(scores: [Float], labels: [Bool], bins: Int = 10) -> Float {
    precondition(scores.count == labels.count)
    guard !scores.isEmpty else { return 0 }
    var sum = [Double](repeating: 0, count: bins), pos = sum, count = sum
    for (s, l) in zip(scores, labels) {
        let b = min(bins - 1, max(0, Int(s * Float(bins))))
        sum[b] += Double(s); count[b] += 1; if l { pos[b] += 1 }
    }
    var e = 0.0
    for b in 0..<bins where count[b] > 0 { e += abs(sum[b] - pos[b]) }
    return Float(e / Double(scores.count))
}
