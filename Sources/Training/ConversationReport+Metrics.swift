import Contracts
import Emotion

extension ConversationReport {
    /// Scores `turns` (in dialogue order, as ``ConversationTurn/load(_:)`` gives them) predicted with
    /// context and alone (same order), with `resamples` bootstrap draws of the dialogues (0: none).
    public init(file: String, turns: [ConversationTurn], withContext: [EmotionPrediction], turnAlone: [EmotionPrediction],
                resamples: Int = 1000, seed: UInt64 = 0) {
        precondition(withContext.count == turns.count && turnAlone.count == turns.count)
        let gold = turns.map(\.gold)
        // Each dialogue's turns, as a range of rows (dialogue order keeps them together).
        var dialogues: [Range<Int>] = []
        for i in turns.indices where i == 0 || turns[i].dialogueID != turns[i - 1].dialogueID {
            if let last = dialogues.last { dialogues[dialogues.count - 1] = last.lowerBound..<i }
            dialogues.append(i..<turns.count)
        }
        func figures(_ predictions: [EmotionPrediction]) -> Figures {
            var f = Figures(predicted: predictions.map(EkmanLabel.init), neutral: predictions.map(\.neutral), gold: gold)
            if resamples > 0, !dialogues.isEmpty {
                let i = bootstrapIntervals(units: dialogues.count, resamples: resamples, seed: seed) { draw in
                    let rows = draw.flatMap { dialogues[$0] }
                    let r = Figures(predicted: rows.map { EkmanLabel(predictions[$0]) }, neutral: rows.map { predictions[$0].neutral },
                                    gold: rows.map { gold[$0] })
                    return [r.weightedF1, r.microF1, r.neutralAUROC]
                }
                f.intervals = Intervals(resamples: resamples, weightedF1: i[0]!, microF1: i[1]!, neutralAUROC: i[2])
            }
            return f
        }
        self.init(file: file, dialogues: dialogues.count, turns: turns.count,
                  goldNeutralShare: turns.isEmpty ? 0 : Float(gold.filter { $0 == .neutral }.count) / Float(turns.count),
                  withContext: figures(withContext), turnAlone: figures(turnAlone))
    }
}

extension ConversationReport.Figures {
    /// The figures of `predicted` labels and the gate's `neutral` probabilities against `gold` (same order).
    public init(predicted: [EkmanLabel], neutral: [Float], gold: [EkmanLabel]) {
        precondition(predicted.count == gold.count && neutral.count == gold.count)
        let p = predicted.map(\.index), g = gold.map(\.index)
        let auc = auroc(scores: neutral, labels: gold.map { $0 == .neutral })
        self.init(weightedF1: Training.weightedF1(predicted: p, actual: g, classes: EkmanLabel.allCases.count),
                  microF1: Training.microF1(predicted: p, actual: g, excluding: EkmanLabel.neutral.index),
                  neutralAUROC: auc.isNaN ? nil : auc,
                  predictedNeutralShare: gold.isEmpty ? 0 : Float(predicted.filter { $0 == .neutral }.count) / Float(gold.count))
    }
}

/// F1 per class averaged with the classes' support in `actual` as weights (scikit-learn's
/// `average="weighted"`); 0 without rows.
func weightedF1(predicted: [Int], actual: [Int], classes: Int) -> Float {
    guard !actual.isEmpty else { return 0 }
    let c = classCounts(predicted: predicted, actual: actual, classes: classes)
    var sum: Float = 0
    for k in 0..<classes {
        let support = c.tp[k] + c.fn[k]
        sum += Float(support) * f1Score(tp: c.tp[k], fp: c.fp[k], fn: c.fn[k])
    }
    return sum / Float(actual.count)
}

/// Micro-averaged F1 over every class but `negative`: a hit is a row whose prediction equals its
/// label and is not `negative`; precision over the rows predicted other than `negative`, recall
/// over the rows labelled other than it.
func microF1(predicted: [Int], actual: [Int], excluding negative: Int) -> Float {
    precondition(predicted.count == actual.count)
    var hits = 0, predictedPositive = 0, actualPositive = 0
    for (p, a) in zip(predicted, actual) {
        if p != negative { predictedPositive += 1 }
        if a != negative { actualPositive += 1 }
        if p == a && a != negative { hits += 1 }
    }
    return f1Score(tp: hits, fp: predictedPositive - hits, fn: actualPositive - hits)
}
