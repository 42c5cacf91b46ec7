/// What the heads say about one turn.
public struct EmotionPrediction: Sendable, Codable, Equatable {
    /// The 32 class probabilities, in `PlutchikEmotion` case order; they sum to 1.
    public var probabilities: [Float]
    /// The 8 primary scores, in `PlutchikSector` order (see `PlutchikEmotion.primaryScores`).
    public var primaries: [Float]
    /// The probability that the turn is sarcastic.
    public var sarcasm: Float
    /// The predicted intensity, in [0, 1].
    public var intensity: Float
    /// The most probable emotion.
    public var label: PlutchikEmotion
    /// The probability of `label`.
    public var confidence: Float

    /// Builds a prediction from class probabilities; the label, confidence and primaries are derived.
    public init(probabilities: [Float], sarcasm: Float, intensity: Float) {
        precondition(probabilities.count == PlutchikEmotion.count, "expected \(PlutchikEmotion.count) probabilities")
        var best = 0
        for i in 1..<probabilities.count where probabilities[i] > probabilities[best] { best = i }
        self.probabilities = probabilities
        self.primaries = PlutchikEmotion.primaryScores(probabilities)
        self.sarcasm = sarcasm
        self.intensity = intensity
        self.label = PlutchikEmotion(index: best)
        self.confidence = probabilities[best]
    }
}
