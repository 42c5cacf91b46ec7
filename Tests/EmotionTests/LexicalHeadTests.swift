import Foundation
import Testing
@testable import Contracts
@testable import Emotion

@Suite struct LexicalHeadTests {
    let texts = ["I am furious", "so furious now", "this makes me furious", "what a joy", "pure joy here", "joy at last",
                 "I dread it", "dread again"]
    let labels = [PlutchikEmotion.rage, .rage, .rage, .joy, .joy, .joy, .apprehension, .apprehension].map(\.index)

    func trained() -> LexicalHead {
        LexicalHead.train(texts: texts, labels: labels, vocabulary: LexicalVocabulary(fitting: texts, minCount: 1), l2: 1e-4)
    }

    @Test func learnsTheWordsOfEachClass() {
        let head = trained()
        for (text, label) in [("furious!", PlutchikEmotion.rage), ("joy", .joy), ("dread", .apprehension)] {
            let z = head.logits(text)
            #expect(z.indices.max { z[$0] < z[$1] } == label.index, "\(text)")
        }
    }

    @Test func gradientMatchesCentralDifferences() {
        var rng = SeededGenerator(seed: 11)
        var head = trained()
        for i in head.weights.indices { head.weights[i] = rng.nextGaussian() * 0.5 }
        for i in head.bias.indices { head.bias[i] = rng.nextGaussian() * 0.5 }
        let xs = texts.map { head.vocabulary.features($0) }
        let g = head.loss(xs, labels, l2: 0.01).gradient
        let w = head.weights.count, eps: Float = 1e-2
        // Every bias, and the weights of the words each class uses.
        let checked = Array(w..<(w + head.bias.count)) + labels.flatMap { y in xs.flatMap { $0.map { y * head.vocabulary.count + $0.index } } }
        for i in Set(checked) {
            var plus = head, minus = head
            if i < w { plus.weights[i] += eps; minus.weights[i] -= eps } else { plus.bias[i - w] += eps; minus.bias[i - w] -= eps }
            let numeric = (plus.loss(xs, labels, l2: 0.01).loss - minus.loss(xs, labels, l2: 0.01).loss) / (2 * eps)
            #expect(abs(numeric - g[i]) <= 1e-3 + 2e-2 * abs(numeric), "parameter \(i): numeric \(numeric), analytic \(g[i])")
        }
    }

    @Test func fusesOnlyIntoTurnsWithoutEmojiAndOnlyTheEmotionOutputs() {
        var head = trained()
        head.fusionWeight = 0.5
        let o = HeadsNetwork.outputs
        let base = (0..<(2 * o)).map { Float($0) * 0.01 }
        var z = base
        head.fuse(into: &z, texts: ["so furious", "so furious"], hasEmoji: [false, true])
        let lex = head.logits("so furious")
        for k in 0..<PlutchikEmotion.count { #expect(abs(z[k] - (base[k] + 0.5 * lex[k])) < 1e-6) }
        #expect(Array(z[PlutchikEmotion.count..<o]) == Array(base[PlutchikEmotion.count..<o]))
        #expect(Array(z[o...]) == Array(base[o...]))
    }

    @Test func roundTripsWithTheHeads() throws {
        var rng = SeededGenerator(seed: 3)
        let vocab = EmojiVocabulary(symbols: ["😡"])
        let builder = HeadsFeatureBuilder(embeddingDimension: 4, vocabulary: vocab, embeddingScale: 1)
        var head = trained()
        head.fusionWeight = 0.75
        var manifest = HeadsManifest(version: "t", created: "", seed: 3, trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "",
                                     embeddingDimension: 4, embeddingScale: 1, hidden: 3, inputs: builder.count, emojiVocabulary: vocab,
                                     weightsFile: "heads.f32", weightsSHA256: "", bestEpoch: 1, validation: EvaluationReport(n: 0),
                                     neutralThreshold: 0.5, training: [:])
        manifest.lexicalHead = .init(vocabulary: head.vocabulary, fusionWeight: 0.75, l2: 1e-4, weightsFile: "lexical.f32", weightsSHA256: "")
        let heads = EmotionHeads(manifest: manifest, network: HeadsNetwork(inputs: builder.count, hidden: 3, rng: &rng), builder: builder,
                                 lexicalHead: head)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lexical-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try heads.save(to: dir)
        let loaded = try EmotionHeads(directory: dir)
        #expect(loaded.lexicalHead == head)
        for text in ["so furious", "so furious 😡"] {
            let emoji = loaded.emojiFeatures(text: text)
            let p = loaded.predict(embedding: [1, 0, 0, 0], text: text, emojiFeatures: emoji, context: DialogueContext(), speaker: "a")
            #expect(p == heads.predict(embedding: [1, 0, 0, 0], text: text, emojiFeatures: emoji, context: DialogueContext(), speaker: "a"))
        }
        // Only the text without emoji hears the word channel.
        let plain = EmotionHeads(manifest: heads.manifest, network: heads.network, builder: builder)
        func probs(_ h: EmotionHeads, _ text: String) -> [Float] {
            h.predict(embedding: [1, 0, 0, 0], text: text, emojiFeatures: h.emojiFeatures(text: text), context: DialogueContext(), speaker: "a").probabilities
        }
        #expect(probs(loaded, "so furious 😡") == probs(plain, "so furious 😡"))
        #expect(probs(loaded, "so furious") != probs(plain, "so furious"))
    }

    /// A word channel fused with weight 0 (heads-8 to heads-8.3) is neither checked nor read: the
    /// heads load without its file and predict the same.
    @Test func aZeroWeightWordChannelIsDroppedOnLoad() throws {
        var rng = SeededGenerator(seed: 5)
        let vocab = EmojiVocabulary(symbols: ["😡"])
        let builder = HeadsFeatureBuilder(embeddingDimension: 4, vocabulary: vocab, embeddingScale: 1)
        var head = trained()
        head.fusionWeight = 0
        var manifest = HeadsManifest(version: "t", created: "", seed: 5, trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "",
                                     embeddingDimension: 4, embeddingScale: 1, hidden: 3, inputs: builder.count, emojiVocabulary: vocab,
                                     weightsFile: "heads.f32", weightsSHA256: "", bestEpoch: 1, validation: EvaluationReport(n: 0),
                                     neutralThreshold: 0.5, training: [:])
        manifest.lexicalHead = .init(vocabulary: head.vocabulary, fusionWeight: 0, l2: 1e-4, weightsFile: "lexical.f32", weightsSHA256: "")
        let heads = EmotionHeads(manifest: manifest, network: HeadsNetwork(inputs: builder.count, hidden: 3, rng: &rng), builder: builder,
                                 lexicalHead: head)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lexical-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try heads.save(to: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("lexical.f32"))
        let loaded = try EmotionHeads(directory: dir)
        #expect(loaded.lexicalHead == nil && loaded.manifest.lexicalHead == nil)
        let p = loaded.predict(embedding: [1, 0, 0, 0], text: "so furious", emojiFeatures: loaded.emojiFeatures(text: "so furious"),
                               context: DialogueContext(), speaker: "a")
        #expect(p == heads.predict(embedding: [1, 0, 0, 0], text: "so furious", emojiFeatures: heads.emojiFeatures(text: "so furious"),
                                   context: DialogueContext(), speaker: "a"))
    }
}
