import Contracts
import Emotion

extension GoEmotionsReport {
    /// Scores predictions of `comments` (same order), the gate at `neutralThreshold`.
    public init(predictions: [EmotionPrediction], comments: [GoEmotionsComment], neutralThreshold: Float) {
        precondition(predictions.count == comments.count)
        let mapped = GoEmotionsComment.mappedClasses
        let slot = Dictionary(uniqueKeysWithValues: mapped.enumerated().map { ($1, $0) })
        let classRows = comments.indices.filter { comments[$0].emotion != nil }
        // Slot `mapped.count` stands for every class outside the 16: it is never averaged, so a
        // prediction there only costs its row's true class.
        let predicted = classRows.map { slot[predictions[$0].label] ?? mapped.count }
        let actual = classRows.map { slot[comments[$0].emotion!] ?? mapped.count }
        let counts = classCounts(predicted: predicted, actual: actual, classes: mapped.count + 1)
        let f1s = (0..<mapped.count).filter { counts.seen[$0] }.map { f1Score(tp: counts.tp[$0], fp: counts.fp[$0], fn: counts.fn[$0]) }
        let sectorRows = comments.indices.filter { comments[$0].sector != nil }
        let scores = predictions.map(\.neutral), labels = comments.map(\.neutral)
        let auc = auroc(scores: scores, labels: labels)
        var tp = 0, fp = 0, fn = 0
        for (s, l) in zip(scores, labels) {
            if s >= neutralThreshold { if l { tp += 1 } else { fp += 1 } } else if l { fn += 1 }
        }
        self.init(n: comments.count, classRows: classRows.count, sectorRows: sectorRows.count,
                  classMacroF1: f1s.isEmpty ? 0 : f1s.reduce(0, +) / Float(f1s.count),
                  classAccuracy: accuracy(predicted: predicted, actual: actual),
                  sectorAccuracy: accuracy(predicted: sectorRows.map { argmax(predictions[$0].primaries) },
                                           actual: sectorRows.map { comments[$0].sector!.rawValue }),
                  neutralAUROC: auc.isNaN ? nil : auc, neutralThreshold: neutralThreshold,
                  neutralPrecision: tp + fp == 0 ? 0 : Float(tp) / Float(tp + fp),
                  neutralRecall: tp + fn == 0 ? 0 : Float(tp) / Float(tp + fn),
                  neutralF1: f1Score(tp: tp, fp: fp, fn: fn),
                  neutralCalibrationError: calibrationError(scores: scores, labels: labels))
    }
}

extension GoEmotionsReport.Intervals {
    /// Bootstraps the figures of `predictions` of `comments` (same order): `resamples` draws of
    /// as many comments with replacement (seeded, so a run repeats), each scored like the whole.
    public init(bootstrapping predictions: [EmotionPrediction], comments: [GoEmotionsComment], resamples: Int = 1000, seed: UInt64 = 0) {
        precondition(predictions.count == comments.count && !comments.isEmpty && resamples > 0)
        let i = bootstrapIntervals(units: comments.count, resamples: resamples, seed: seed) { rows in
            let r = GoEmotionsReport(predictions: rows.map { predictions[$0] }, comments: rows.map { comments[$0] }, neutralThreshold: 0.5)
            return [r.classMacroF1, r.sectorAccuracy, r.neutralAUROC]
        }
        self.init(resamples: resamples, classMacroF1: i[0]!, sectorAccuracy: i[1]!, neutralAUROC: i[2])
    }
}

/// 95 % percentile-bootstrap intervals: `resamples` draws of `units` indices with replacement
/// (seeded, so a run repeats), each scored by `figures`; one interval per figure, nil for a figure
/// no draw defined (`figures` gives nil where a figure is undefined, e.g. an AUROC without both classes).
func bootstrapIntervals(units: Int, resamples: Int, seed: UInt64, figures: ([Int]) -> [Float?]) -> [ClosedRange<Float>?] {
    var rng = SeededGenerator(seed: seed)
    var values: [[Float]] = []
    for _ in 0..<resamples {
        let rows = (0..<units).map { _ in Int(rng.next() % UInt64(units)) }
        let f = figures(rows)
        if values.isEmpty { values = Array(repeating: [], count: f.count) }
        for (k, v) in f.enumerated() { if let v { values[k].append(v) } }
    }
    return values.map { $0.isEmpty ? nil : percentileInterval($0) }
}

/// The 2.5th to the 97.5th percentile of `values` (nearest rank).
func percentileInterval(_ values: [Float]) -> ClosedRange<Float> {
    let v = values.sorted(), last = Double(v.count - 1)
    return v[Int((0.025 * last).rounded())]...v[Int((0.975 * last).rounded())]
}

/// The index of the largest value (the first on ties).
func argmax(_ v: [Float]) -> Int {
    var best = 0
    for i in v.indices where v[i] > v[best] { best = i }
    return best
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
