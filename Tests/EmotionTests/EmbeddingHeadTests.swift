import Foundation
import Testing
@testable import Contracts
@testable import Emotion

@Suite struct EmbeddingHeadTests {
    /// A head over 3-dimensional embeddings with seeded weights.
    func head(classWeight: Float = 0.5, sectorWeight: Float = 0.25, gateKeep: Float = 0.5,
              firstTurnClassWeight: Float? = nil, firstTurnSectorWeight: Float? = nil) -> EmbeddingHead {
        var rng = SeededGenerator(seed: 5)
        return EmbeddingHead(weights: (0..<(EmbeddingHead.outputs * 3)).map { _ in rng.nextGaussian() },
                             bias: (0..<EmbeddingHead.outputs).map { _ in rng.nextGaussian() },
                             classWeight: classWeight, sectorWeight: sectorWeight, gateKeep: gateKeep,
                             firstTurnClassWeight: firstTurnClassWeight, firstTurnSectorWeight: firstTurnSectorWeight)
    }

    @Test func fusesClassesSectorsAndTheGateOnlyIntoTurnsWithoutEmoji() {
        let h = head(), o = HeadsNetwork.outputs, c = PlutchikEmotion.count
        let base = (0..<(2 * o)).map { Float($0) * 0.01 }
        var z = base
        let e: [Float] = [0.3, -1, 2]
        h.fuse(into: &z, embeddings: [e, e], hasEmoji: [false, true], firstTurn: [false, false])
        let l = h.logits(e)
        // A primary takes its sector's logit; a dyad (optimism: anticipation + joy) half of each.
        let joy = PlutchikEmotion.joy.index, optimism = PlutchikEmotion.optimism.index
        #expect(abs(z[joy] - (base[joy] + 0.5 * l[joy] + 0.25 * l[c + PlutchikSector.joy.rawValue])) < 1e-5)
        let dyad = (l[c + PlutchikSector.anticipation.rawValue] + l[c + PlutchikSector.joy.rawValue]) / 2
        #expect(abs(z[optimism] - (base[optimism] + 0.5 * l[optimism] + 0.25 * dyad)) < 1e-5)
        #expect(abs(z[HeadsNetwork.neutralOutput] - (0.5 * base[HeadsNetwork.neutralOutput] + l[EmbeddingHead.neutralRow])) < 1e-5)
        #expect(z[HeadsNetwork.sarcasmOutput] == base[HeadsNetwork.sarcasmOutput])
        #expect(z[HeadsNetwork.intensityOutput] == base[HeadsNetwork.intensityOutput])
        #expect(Array(z[o...]) == Array(base[o...]))
    }

    @Test func aDialoguesFirstTurnTakesItsOwnWeights() {
        let h = head(firstTurnClassWeight: 2, firstTurnSectorWeight: 0), o = HeadsNetwork.outputs
        let base = [Float](repeating: 0.1, count: 2 * o), e: [Float] = [-0.7, 0.2, 1.1]
        var z = base
        h.fuse(into: &z, embeddings: [e, e], hasEmoji: [false, false], firstTurn: [true, false])
        let l = h.logits(e), k = PlutchikEmotion.anger.index, c = PlutchikEmotion.count
        #expect(abs(z[k] - (0.1 + 2 * l[k])) < 1e-5)
        #expect(abs(z[o + k] - (0.1 + 0.5 * l[k] + 0.25 * l[c + PlutchikSector.anger.rawValue])) < 1e-5)
        // The gate is the same on both routes.
        #expect(z[HeadsNetwork.neutralOutput] == z[o + HeadsNetwork.neutralOutput])
        // Without first-turn weights, the first turn is weighted like the others.
        let alike = head()
        #expect(alike.firstTurnClassWeight == alike.classWeight && alike.firstTurnSectorWeight == alike.sectorWeight)
    }

    @Test func plattScalingChangesOnlyTheGate() {
        let h = head(), scaled = h.scalingNeutral(a: 2, b: -0.5)
        let e: [Float] = [1, 0.5, -0.25]
        let (l, s) = (h.logits(e), scaled.logits(e))
        #expect(abs(s[EmbeddingHead.neutralRow] - (2 * l[EmbeddingHead.neutralRow] - 0.5)) < 1e-5)
        #expect(Array(s[..<EmbeddingHead.neutralRow]) == Array(l[..<EmbeddingHead.neutralRow]))
    }

    @Test func roundTripsWithTheHeadsAndIsChecked() throws {
        var rng = SeededGenerator(seed: 3)
        let vocab = EmojiVocabulary(symbols: ["😡"])
        let builder = HeadsFeatureBuilder(embeddingDimension: 3, vocabulary: vocab, embeddingScale: 1)
        var manifest = HeadsManifest(version: "t", created: "", seed: 3, trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "",
                                     embeddingDimension: 3, embeddingScale: 1, hidden: 3, inputs: builder.count, emojiVocabulary: vocab,
                                     weightsFile: "heads.f32", weightsSHA256: "", bestEpoch: 1, validation: EvaluationReport(n: 0),
                                     neutralThreshold: 0.5, training: [:])
        manifest.embeddingHead = .init(classWeight: 0.5, sectorWeight: 0.25, gateKeep: 0.5, l2: 1e-3, weightsFile: "embedding.f32", weightsSHA256: "")
        let network = HeadsNetwork(inputs: builder.count, hidden: 3, rng: &rng)
        // The head's weights are what is saved, the first-turn ones included.
        let routed = head(firstTurnClassWeight: 1.5, firstTurnSectorWeight: 0)
        let heads = EmotionHeads(manifest: manifest, network: network, builder: builder, embeddingHead: routed)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embedding-head-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try heads.save(to: dir)
        let loaded = try EmotionHeads(directory: dir)
        #expect(loaded.embeddingHead == routed)
        #expect(loaded.manifest.embeddingHead?.firstTurnClassWeight == 1.5)
        let plain = EmotionHeads(manifest: heads.manifest, network: network, builder: builder)
        func predict(_ h: EmotionHeads, _ text: String) -> EmotionPrediction {
            h.predict(embedding: [0.2, -0.4, 1], text: text, emojiFeatures: h.emojiFeatures(text: text), context: DialogueContext(), speaker: "a")
        }
        #expect(predict(loaded, "calm words") == predict(heads, "calm words"))
        #expect(predict(loaded, "calm words").neutral != predict(plain, "calm words").neutral)
        #expect(predict(loaded, "calm words 😡") == predict(plain, "calm words 😡"))
        // A changed weight file is refused.
        let file = dir.appendingPathComponent("embedding.f32")
        var bytes = try Data(contentsOf: file)
        bytes[0] ^= 1
        try bytes.write(to: file)
        #expect(throws: ModelError.self) { try EmotionHeads(directory: dir) }
    }
}
