import Contracts
import Emotion
import Escalation

extension EvaluationReport {
    /// Copies the next-2-turns escalation metrics (forecaster, GRU baseline, persistence).
    public mutating func setEscalation(_ r: EscalationReport) {
        escalationAUROC = r.auroc.map(Float.init); escalationPRAUC = r.prAUC.map(Float.init)
        escalationAUROCGRU = r.aurocGRU.map(Float.init); escalationPRAUCGRU = r.prAUCGRU.map(Float.init)
        escalationAUROCPersistence = r.aurocPersistence.map(Float.init)
        escalationPRAUCPersistence = r.prAUCPersistence.map(Float.init)
    }

    /// Fills in the emotion, sarcasm and intensity metrics from predictions on labelled turns
    /// (`textOnly` are the same turns scored with the emoji removed).
    public static func emotion(predictions: [EmotionPrediction], textOnly: [EmotionPrediction],
                               labels: [PlutchikEmotion], sarcasm: [Bool]) -> EvaluationReport {
        var r = EvaluationReport(n: labels.count)
        let actual = labels.map(\.index)
        let predicted = predictions.map(\.label.index), predictedText = textOnly.map(\.label.index)
        r.emotionMacroF1 = macroF1(predicted: predicted, actual: actual, classes: PlutchikEmotion.count)
        r.emotionAccuracy = accuracy(predicted: predicted, actual: actual)
        r.emotionMacroF1TextOnly = macroF1(predicted: predictedText, actual: actual, classes: PlutchikEmotion.count)
        r.emotionAccuracyTextOnly = accuracy(predicted: predictedText, actual: actual)
        r.emotionWheelError = meanWheelError(predicted: predictions.map(\.label), actual: labels)
        r.sarcasmF1 = binaryF1(predicted: predictions.map { $0.sarcasm >= 0.5 }, actual: sarcasm)
        let auc = auroc(scores: predictions.map(\.sarcasm), labels: sarcasm)
        r.sarcasmAUROC = auc.isNaN ? nil : auc
        r.intensityMAE = meanAbsoluteError(predictions.map(\.intensity), labels.map(\.intensity))
        return r
    }

    /// Adds the per-emotion figures and the accuracy on turns with and without emoji (`texts` are
    /// the turns' texts as given; nil accuracy where a group is empty).
    public mutating func addBreakdown(predictions: [EmotionPrediction], textOnly: [EmotionPrediction],
                                      labels: [PlutchikEmotion], texts: [String]) {
        perClass = EmotionClassReport.perClass(predictions: predictions, textOnly: textOnly, labels: labels)
        let withEmoji = texts.map { EmojiFeatures.hasEmoji(in: $0) }
        func groupAccuracy(withEmoji group: Bool) -> Float? {
            let rows = labels.indices.filter { withEmoji[$0] == group }
            return rows.isEmpty ? nil : accuracy(predicted: rows.map { predictions[$0].label.index }, actual: rows.map { labels[$0].index })
        }
        emotionAccuracyWithEmoji = groupAccuracy(withEmoji: true)
        emotionAccuracyWithoutEmoji = groupAccuracy(withEmoji: false)
    }
}
