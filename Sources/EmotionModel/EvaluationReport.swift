/// The quality report `plutchik eval --json` prints and the heads' manifest stores.
///
/// Every metric is optional so that other stages can add theirs to the same object: set the
/// field (escalation metrics are declared here already) and it appears in the JSON; nil fields
/// are omitted.
public struct EvaluationReport: Sendable, Codable, Equatable {
    public var n: Int
    public var emotionMacroF1: Float?
    public var emotionAccuracy: Float?
    public var emotionMacroF1TextOnly: Float?
    public var emotionAccuracyTextOnly: Float?
    public var emotionWheelError: Float?
    public var sarcasmF1: Float?
    public var sarcasmAUROC: Float?
    public var intensityMAE: Float?
    /// Escalation metrics, filled in by the escalation stage.
    public var escalationAUROC: Float?
    public var escalationPRAUC: Float?
    public var escalationAUROCPersistence: Float?
    public var escalationAUROCGRU: Float?
    public var escalationPRAUCPersistence: Float?
    public var escalationPRAUCGRU: Float?
    /// Per-emotion figures (`plutchik eval --per-class`).
    public var perClass: [EmotionClassReport]?
    /// Emotion accuracy on the turns with emoji and on those without, as given (`--per-class`).
    public var emotionAccuracyWithEmoji: Float?
    public var emotionAccuracyWithoutEmoji: Float?
    /// The figures on real comments (`plutchik eval --goemotions`; the heads' GoEmotions dev figures).
    public var goEmotions: GoEmotionsReport?

    public init(n: Int) { self.n = n }

    enum CodingKeys: String, CodingKey {
        case n
        case emotionMacroF1 = "emotion_macro_f1", emotionAccuracy = "emotion_accuracy"
        case emotionMacroF1TextOnly = "emotion_macro_f1_text_only", emotionAccuracyTextOnly = "emotion_accuracy_text_only"
        case emotionWheelError = "emotion_wheel_error"
        case sarcasmF1 = "sarcasm_f1", sarcasmAUROC = "sarcasm_auroc", intensityMAE = "intensity_mae"
        case escalationAUROC = "escalation_auroc", escalationPRAUC = "escalation_pr_auc"
        case escalationAUROCPersistence = "escalation_auroc_persistence", escalationAUROCGRU = "escalation_auroc_gru"
        case escalationPRAUCPersistence = "escalation_pr_auc_persistence", escalationPRAUCGRU = "escalation_pr_auc_gru"
        case perClass = "per_class", emotionAccuracyWithEmoji = "emotion_accuracy_with_emoji"
        case emotionAccuracyWithoutEmoji = "emotion_accuracy_without_emoji"
        case goEmotions = "goemotions"
    }

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
