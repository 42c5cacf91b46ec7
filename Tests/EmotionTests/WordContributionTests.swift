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
        let plain = h.attributions(inputs, emotions: labels, greedy: 0) { batch in calls += 1; return batch.map(Self.embed) }
        #expect(calls == 1, "every turn's deletions go to the encoder in one batch")
        #expect(plain.map { $0.units.map(\.word) } == [["I", "am", "so", "furious", "now", "😡"], ["thanks", "a", "lot"]])
        for (i, a) in plain.enumerated() {
            let base = h.predict([inputs[i]])[0].probabilities[labels[i].index]
            for (j, w) in a.units.enumerated() {
                let rest = EmotionHeads.text(a.units.map(\.word), removing: [j])
                let p = h.predict([input(h, rest, context: inputs[i].context)])[0].probabilities[labels[i].index]
                #expect(abs(w.contribution - (base - p)) < 1e-6, "\(w.word)")
            }
            // Not all zero, not all tied: the words differ in what they do.
            #expect(Set(a.units.map(\.contribution)).count > 1)
            #expect(a.ranking == a.units.indices.sorted { a.units[$0].contribution > a.units[$1].contribution })
        }
    }

    @Test("the top words are ranked by deleting them together: each next one lowers the probability most once those above are gone")
    func greedyRanking() throws {
        let h = heads()
        let inputs = [input(h, "I am so furious now 😡 really"), input(h, "thanks a lot")]
        let labels = h.predict(inputs).map(\.label)
        var calls = 0
        let ranked = h.attributions(inputs, emotions: labels, greedy: 3) { batch in calls += 1; return batch.map(Self.embed) }
        #expect(calls == 3, "one encoder call per round, every turn's texts in it")
        for (i, a) in ranked.enumerated() {
            let words = a.units.map(\.word)
            #expect(a.ranking.sorted() == Array(words.indices))
            func p(_ removed: Set<Int>) -> Float {
                h.predict([input(h, EmotionHeads.text(words, removing: removed), context: inputs[i].context)])[0].probabilities[labels[i].index]
            }
            var removed: Set<Int> = [], reached = p([])
            for (round, pick) in a.ranking.prefix(3).enumerated() {
                let best = words.indices.filter { !removed.contains($0) }.map { p(removed.union([$0])) }.min()!
                #expect(abs(p(removed.union([pick])) - best) < 1e-6, "round \(round + 1) picks the deletion that lowers the label most")
                #expect(abs(a.units[pick].contribution - (reached - best)) < 1e-6)
                removed.insert(pick); reached = best
            }
        }
        // The top words come in rank order, at most `top`.
        let top = h.wordContributions(inputs, emotions: labels, top: 3) { $0.map(Self.embed) }
        #expect(top.map(\.count) == [3, 3])
        for (t, a) in zip(top, ranked) { #expect(t.map(\.word) == a.ranking.prefix(3).map { a.units[$0].word }) }
    }

    @Test("a word repeated in the turn is listed once; an empty turn has no words and asks the encoder nothing")
    func repeatedAndEmpty() {
        let h = heads()
        let inputs = [input(h, "no no no way"), input(h, "")]
        let labels = h.predict(inputs).map(\.label)
        var asked: [String] = []
        let words = h.wordContributions(inputs, emotions: labels, top: 10) { batch in asked += batch; return batch.map(Self.embed) }
        #expect(words[0].map(\.word).sorted() == ["no", "way"] && words[1].isEmpty)
        #expect(Array(asked.prefix(4)) == ["no no way", "no no way", "no no way", "no no no"])
        #expect(asked.count == 4 + 3 + 2 + 1, "leave one out, then a greedy round per further word; nothing for the empty turn")
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
