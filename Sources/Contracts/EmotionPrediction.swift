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
    /// The neutral gate: the calibrated probability that the turn carries no notable emotion.
    /// The label stays the argmax of `probabilities` whatever its value.
    public var neutral: Float
    /// Whether `neutral` reached the heads' threshold (`HeadsManifest.neutralThreshold`): the turn
    /// is reported as neutral (the escalation forecast reads `neutral` itself, every turn).
    public var isNeutral: Bool
    /// The most probable emotion.
    public var label: PlutchikEmotion
    /// The probability of `label`.
    public var confidence: Float

    /// Builds a prediction from class probabilities; the label, confidence and primaries are derived.
    public init(probabilities: [Float], sarcasm: Float, intensity: Float, neutral: Float = 0, isNeutral: Bool = false) {
        precondition(probabilities.count == PlutchikEmotion.count, "expected \(PlutchikEmotion.count) probabilities")
        var best = 0
        for i in 1..<probabilities.count where probabilities[i] > probabilities[best] { best = i }
        self.probabilities = probabilities
        self.primaries = PlutchikEmotion.primaryScores(probabilities)
        self.sarcasm = sarcasm
        self.intensity = intensity
        self.neutral = neutral
        self.isNeutral = isNeutral
        self.label = PlutchikEmotion(index: best)
        self.confidence = probabilities[best]
    }
}
