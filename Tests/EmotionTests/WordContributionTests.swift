import Foundation
import Testing
@testable import Contracts
@testable import Emotion

/// Leave-one-word-out explanations through the heads, over a stand-in encoder.
@Suite struct WordContributionTests {
    /// Heads over 4-dimensional embeddings, random weights.
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

    /// A stand-in encoder: the mean of a vector per word (by its characters), "furious" far off.
    static func embed(_ text: String) -> [Float] {
        let words = text.split(whereSeparator: \.isWhitespace)
        var v: [Float] = [0.1, 0.1, 0.1, 0.1]
        for w in words {
            let h = w.unicodeScalars.reduce(UInt32(7)) { $0 &* 31 &+ $1.value }
            let u = w.hasPrefix("furious") ? [Float(4), -3, 2, 5] : (0..<4).map { Float((h >> (8 * UInt32($0))) & 0xFF) / 255 - 0.5 }
            for i in 0..<4 { v[i] += u[i] }
        }
        return v.map { $0 / Float(max(words.count, 1)) }
    }

    func input(_ h: EmotionHeads, _ text: String, context: DialogueContext = DialogueContext()) -> HeadsInput {
        HeadsInput(embedding: Self.embed(text), text: text, emojiFeatures: h.emojiFeatures(text: text), context: context, speaker: "c")
    }

    @Test("a word's contribution is what the label's probability loses when the turn is scored again without it, in its context")
    func contributionIsTheDropWithoutTheWord() throws {
        let h = heads()
        var context = DialogueContext()
        context.append(embedding: [0.5, -0.5, 0.2, 0.1], speaker: "agent")
        let texts = ["I am so furious now 😡", "thanks a lot"]
        let inputs = [input(h, texts[0], context: context), input(h, texts[1])]
        let labels = h.predict(inputs).map(\.label)
        var calls = 0
        let units = h.unitContributions(inputs, emotions: labels) { batch in calls += 1; return batch.map(Self.embed) }
        #expect(calls == 1, "every turn's deletions go to the encoder in one batch")
        #expect(units.map { $0.map(\.word) } == [["I", "am", "so", "furious", "now", "😡"], ["thanks", "a", "lot"]])
        for (i, words) in units.enumerated() {
            let base = h.predict([inputs[i]])[0].probabilities[labels[i].index]
            for (j, w) in words.enumerated() {
                let rest = EmotionHeads.text(words.map(\.word), removing: [j])
                let p = h.predict([input(h, rest, context: inputs[i].context)])[0].probabilities[labels[i].index]
                #expect(abs(w.contribution - (base - p)) < 1e-6, "\(w.word)")
            }
            // Not all zero, not all tied: the words differ in what they do.
            #expect(Set(words.map(\.contribution)).count > 1)
        }
        // The top words: largest first, at most `top`, the deletions' own order kept otherwise.
        let top = h.wordContributions(inputs, emotions: labels, top: 3) { $0.map(Self.embed) }
        #expect(top.map(\.count) == [3, 3])
        for (t, u) in zip(top, units) {
            #expect(zip(t, t.dropFirst()).allSatisfy { $0.contribution >= $1.contribution })
            #expect(t.first?.contribution == u.map(\.contribution).max())
        }
    }

    @Test("a word repeated in the turn is listed once; an empty turn has no words and asks the encoder nothing")
    func repeatedAndEmpty() {
        let h = heads()
        let inputs = [input(h, "no no no way"), input(h, "")]
        let labels = h.predict(inputs).map(\.label)
        var asked: [String] = []
        let words = h.wordContributions(inputs, emotions: labels, top: 10) { batch in asked += batch; return batch.map(Self.embed) }
        #expect(words[0].map(\.word).sorted() == ["no", "way"] && words[1].isEmpty)
        #expect(asked == ["no no way", "no no way", "no no way", "no no no"])
    }

    @Test("a long turn is attributed over at most 32 runs of consecutive words, covering all of them in order")
    func longTurnsMergeIntoRuns() {
        let words = (1...100).map { "w\($0)" }
        let units = EmotionHeads.attributionUnits(words.joined(separator: "  \n"))
        #expect(units.count <= EmotionHeads.maxAttributionUnits && units.count > 16)
        #expect(units.joined(separator: " ") == words.joined(separator: " "))
        #expect(EmotionHeads.attributionUnits(" a\tb  c ") == ["a", "b", "c"])
        #expect(EmotionHeads.text(["a", "b", "c", "d"], removing: [1, 3]) == "a c" && EmotionHeads.text(["a", "b", "c", "d"], keeping: [1, 3]) == "b d")
    }
}
