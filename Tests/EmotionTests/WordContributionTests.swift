import Foundation
import Testing
@testable import Contracts
@testable import Emotion

@Suite struct WordContributionTests {
    /// Heads over 4-dimensional embeddings with two emoji, random weights.
    func heads() -> EmotionHeads {
        var rng = SeededGenerator(seed: 17)
        let vocab = EmojiVocabulary(symbols: ["😡", "😊"])
        let builder = HeadsFeatureBuilder(embeddingDimension: 4, vocabulary: vocab, embeddingScale: 1)
        let manifest = HeadsManifest(version: "t", created: "", seed: 17, trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "",
                                     embeddingDimension: 4, embeddingScale: 1, hidden: 16, inputs: builder.count, emojiVocabulary: vocab,
                                     weightsFile: "heads.f32", weightsSHA256: "", bestEpoch: 1, validation: EvaluationReport(n: 0),
                                     neutralThreshold: 0.5, training: [:])
        return EmotionHeads(manifest: manifest, network: HeadsNetwork(inputs: builder.count, hidden: 16, rng: &rng), builder: builder)
    }

    /// The centred logit of `k` for feature row `x`.
    func centred(_ h: EmotionHeads, _ x: [Float], _ k: Int) -> Float {
        let z = h.network.forward(x, batch: 1).z
        let c = PlutchikEmotion.count
        return z[k] - z.prefix(c).reduce(0, +) / Float(c)
    }

    @Test("an emoji's contribution is its gradient × input on the label's centred logit", arguments: [PlutchikEmotion.rage, .joy, .awe])
    func emojiGradientTimesInput(emotion: PlutchikEmotion) throws {
        let h = heads()
        let text = "so 😡 and 😊"
        let input = HeadsInput(embedding: [0.3, -0.2, 0.5, 0.1], text: text, emojiFeatures: h.emojiFeatures(text: text),
                               context: DialogueContext(), speaker: "c")
        let words = h.wordContributions(input, emotion: emotion)
        #expect(Set(words.map(\.word)) == ["😡", "😊"])
        let x = h.builder.features(embedding: input.embedding, emoji: input.emojiFeatures, context: input.context, speaker: "c")
        for (index, symbol) in ["😡", "😊"].enumerated() {
            let i = h.builder.emojiOffset + index, eps: Float = 1e-3
            var plus = x, minus = x
            plus[i] += eps; minus[i] -= eps
            let slope = (centred(h, plus, emotion.index) - centred(h, minus, emotion.index)) / (2 * eps)
            let got = try #require(words.first { $0.word == symbol }).contribution
            #expect(abs(got - slope * x[i]) <= 1e-3 + 1e-2 * abs(got), "\(symbol): \(got) against \(slope)")
        }
        #expect(zip(words, words.dropFirst()).allSatisfy { abs($0.contribution) >= abs($1.contribution) })
    }

    @Test("a turn without emoji and without a word channel has no words; emoji outside the vocabulary none either")
    func nothingToSay() {
        let h = heads()
        for text in ["plain words", "only 🦄 here"] {
            let input = HeadsInput(embedding: [0.3, -0.2, 0.5, 0.1], text: text, emojiFeatures: h.emojiFeatures(text: text),
                                   context: DialogueContext(), speaker: "c")
            #expect(h.wordContributions(input, emotion: .rage).isEmpty, "\(text)")
        }
    }
}
