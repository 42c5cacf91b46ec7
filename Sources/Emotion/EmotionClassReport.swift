import Contracts

/// One emotion's figures in `plutchik eval --per-class`: where macro-F1 is lost.
public struct EmotionClassReport: Sendable, Codable, Equatable {
    public var emotion: PlutchikEmotion
    /// Labelled turns of this emotion.
    public var support: Int
    public var precision: Float
    public var recall: Float
    public var f1: Float
    /// F1 of the same turns scored with the emoji removed.
    public var f1TextOnly: Float

    package init(emotion: PlutchikEmotion, support: Int, precision: Float, recall: Float, f1: Float, f1TextOnly: Float) {
        self.emotion = emotion; self.support = support; self.precision = precision; self.recall = recall
        self.f1 = f1; self.f1TextOnly = f1TextOnly
    }

    enum CodingKeys: String, CodingKey {
        case emotion, support, precision, recall, f1, f1TextOnly = "f1_text_only"
    }
}
