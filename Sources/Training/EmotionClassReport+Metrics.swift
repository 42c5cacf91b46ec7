import Contracts
import Emotion

extension EmotionClassReport {
    /// The 32 emotions' figures, in class order (`predictions` and `textOnly` as in
    /// `EvaluationReport.emotion`). The mean F1 over the emotions that occur in the labels or the
    /// predictions is the report's macro-F1.
    public static func perClass(predictions: [EmotionPrediction], textOnly: [EmotionPrediction],
                                labels: [PlutchikEmotion]) -> [EmotionClassReport] {
        let actual = labels.map(\.index), c = PlutchikEmotion.count
        let given = classCounts(predicted: predictions.map(\.label.index), actual: actual, classes: c)
        let text = classCounts(predicted: textOnly.map(\.label.index), actual: actual, classes: c)
        return (0..<c).map { k in
            let tp = given.tp[k], fp = given.fp[k], fn = given.fn[k]
            return EmotionClassReport(
                emotion: PlutchikEmotion(index: k), support: tp + fn,
                precision: tp + fp == 0 ? 0 : Float(tp) / Float(tp + fp), recall: tp + fn == 0 ? 0 : Float(tp) / Float(tp + fn),
                f1: f1Score(tp: tp, fp: fp, fn: fn), f1TextOnly: f1Score(tp: text.tp[k], fp: text.fp[k], fn: text.fn[k]))
        }
    }
}
