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
    /// The figures on files of labelled conversations (`plutchik eval --conversations`), one per file.
    public var conversations: [ConversationReport]?

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
        case goEmotions = "goemotions", conversations
    }
}
