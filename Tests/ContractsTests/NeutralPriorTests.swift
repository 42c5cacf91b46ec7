import Testing
@testable import Contracts

@Suite("Neutral base rate")
struct NeutralPriorTests {
    func prediction(neutral: Float) -> EmotionPrediction {
        var p = [Float](repeating: 0.01, count: PlutchikEmotion.count)
        p[3] = 1 - 0.01 * Float(PlutchikEmotion.count - 1)
        return EmotionPrediction(probabilities: p, sarcasm: 0.1, intensity: 0.4, neutral: neutral, isNeutral: neutral >= 0.5)
    }

    @Test("moving the prior multiplies the odds by the ratio of prior odds, keeps the ranking and the emotion")
    func priorShift() {
        let p = prediction(neutral: 0.5)
        // Odds 1 × (0.7 / 0.3) / (0.3 / 0.7) = 49 / 9.
        let up = p.shiftingNeutralPrior(from: 0.3, to: 0.7, threshold: 0.5)
        #expect(abs(up.neutral - 49 / 58) < 1e-5 && up.isNeutral)
        let down = p.shiftingNeutralPrior(from: 0.3, to: 0.1, threshold: 0.5)
        #expect(down.neutral < 0.5 && !down.isNeutral)
        #expect(p.shiftingNeutralPrior(from: 0.3, to: 0.3, threshold: 0.5).neutral == 0.5)
        #expect(up.label == p.label && up.probabilities == p.probabilities && up.sarcasm == p.sarcasm)
        let scores: [Float] = [0.02, 0.2, 0.45, 0.6, 0.97]
        let shifted = scores.map { prediction(neutral: $0).shiftingNeutralPrior(from: 0.33, to: 0.85, threshold: 0.5).neutral }
        #expect(shifted == shifted.sorted() && zip(shifted, scores).allSatisfy { $0 > $1 })
    }
}
