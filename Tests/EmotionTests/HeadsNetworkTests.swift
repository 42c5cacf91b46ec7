import Foundation
import Testing
import Contracts
@testable import Emotion

@Suite struct HeadsNetworkTests {
    /// Loss of a network on a fixed batch (no dropout).
    func lossValue(_ net: HeadsNetwork, _ x: [Float], _ targets: [HeadsTarget], _ loss: HeadsLoss) -> Float {
        loss.evaluate(z: net.forward(x, batch: targets.count).z, targets: targets).loss
    }

    @Test func gradientsMatchCentralDifferences() {
        var rng = SeededGenerator(seed: 7)
        let d = 6, h = 5, b = 4
        let net = HeadsNetwork(inputs: d, hidden: h, rng: &rng)
        // Biases away from zero so every relu is clearly on one side.
        var n = net
        n.b1 = (0..<h).map { _ in rng.nextGaussian() * 0.3 }
        n.b2 = (0..<HeadsNetwork.outputs).map { _ in rng.nextGaussian() * 0.3 }
        let x = (0..<(b * d)).map { _ in rng.nextGaussian() }
        // Turns (class, sarcasm, intensity, not neutral) and comments (a class, or only a sector, and the gate), weighted.
        let targets = [
            HeadsTarget(label: 7, classWeight: 1.5, sarcasm: 1, intensity: 0.25, neutral: 0, weight: 2),
            HeadsTarget(label: 14, classWeight: 0.5, sarcasm: 0, intensity: 0.5, neutral: 0),
            HeadsTarget(label: 28, classWeight: 1.2, intensity: 0.6, neutral: 1, weight: 0.5),
            HeadsTarget(sector: 4, classWeight: 0.8, neutral: 0, weight: 0.7),
        ]
        #expect(targets.count == b)
        let loss = HeadsLoss(sarcasmWeight: 0.7, sarcasmPositiveWeight: 1.5, intensityWeight: 0.9, neutralWeight: 1.3)

        let (hid, z) = n.forward(x, batch: b)
        let dz = loss.evaluate(z: z, targets: targets).dz
        let g = n.backward(x: x, h: hid, dz: dz, batch: b)

        let eps: Float = 1e-2
        func check(_ path: WritableKeyPath<HeadsNetwork, [Float]>, _ analytic: [Float]) {
            for i in analytic.indices {
                var plus = n, minus = n
                plus[keyPath: path][i] += eps
                minus[keyPath: path][i] -= eps
                let numeric = (lossValue(plus, x, targets, loss) - lossValue(minus, x, targets, loss)) / (2 * eps)
                #expect(abs(numeric - analytic[i]) <= 2e-3 + 2e-2 * abs(numeric), "\(path)[\(i)]: numeric \(numeric), analytic \(analytic[i])")
            }
        }
        check(\.w1, g.w1)
        check(\.b1, g.b1)
        check(\.w2, g.w2)
        check(\.b2, g.b2)
    }

    /// A sector-only target's loss is −log of the sector's primary score, the one `primaryScores` reports.
    @Test func sectorLossIsMinusLogPrimaryScore() {
        let z = (0..<HeadsNetwork.outputs).map { Float(($0 * 37) % 11) * 0.3 - 1 }
        let probabilities = EmotionHeads.predictions(logits: z, batch: 1)[0].primaries
        for sector in 0..<8 {
            let l = HeadsLoss().evaluate(z: z, targets: [HeadsTarget(sector: sector)]).loss
            #expect(abs(l - -log(probabilities[sector])) < 1e-5)
        }
    }

    /// A heads directory without a neutral threshold (heads-6 and earlier, 34 outputs) is refused by name.
    @Test func headsWithoutNeutralGateAreRefused() throws {
        var rng = SeededGenerator(seed: 2)
        let vocab = EmojiVocabulary(symbols: ["😡"])
        let builder = HeadsFeatureBuilder(embeddingDimension: 4, vocabulary: vocab, embeddingScale: 1)
        let manifest = HeadsManifest(version: "old", created: "", seed: 2, trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "",
                                     embeddingDimension: 4, embeddingScale: 1, hidden: 3, inputs: builder.count, emojiVocabulary: vocab,
                                     weightsFile: "heads.f32", weightsSHA256: "", bestEpoch: 1, validation: EvaluationReport(n: 0), training: [:])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try EmotionHeads(manifest: manifest, network: HeadsNetwork(inputs: builder.count, hidden: 3, rng: &rng), builder: builder).save(to: dir)
        #expect { try EmotionHeads(directory: dir) } throws: { "\($0)".contains("no neutral gate") }
    }

    @Test func dropoutMaskScalesGradients() {
        var rng = SeededGenerator(seed: 3)
        let net = HeadsNetwork(inputs: 3, hidden: 4, rng: &rng)
        let x: [Float] = [1, -2, 0.5]
        let mask: [Float] = [2, 0, 2, 0]
        let (h, _) = net.forward(x, batch: 1, dropoutMask: mask)
        #expect(h[1] == 0 && h[3] == 0)
        let g = net.backward(x: x, h: h, dz: [Float](repeating: 1, count: HeadsNetwork.outputs), batch: 1, dropoutMask: mask)
        #expect(g.b1[1] == 0 && g.b1[3] == 0)
    }

    @Test func seededGeneratorIsReproducible() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in b.next() })
        var order = Array(0..<10), again = Array(0..<10)
        var r1 = SeededGenerator(seed: 1), r2 = SeededGenerator(seed: 1)
        seededShuffle(&order, &r1); seededShuffle(&again, &r2)
        #expect(order == again && order.sorted() == Array(0..<10))
    }

    /// Saved and loaded in either precision: float32 exactly, float16 as the weights rounded to half.
    @Test(arguments: [WeightsPrecision.f32, .f16])
    func headsRoundTripThroughDirectory(precision: WeightsPrecision) throws {
        var rng = SeededGenerator(seed: 5)
        let vocab = EmojiVocabulary(symbols: ["😡", "🙄"])
        let builder = HeadsFeatureBuilder(embeddingDimension: 4, vocabulary: vocab, embeddingScale: 1)
        var net = HeadsNetwork(inputs: builder.count, hidden: 3, rng: &rng)
        var manifest = HeadsManifest(version: "t", created: "2026-01-01T00:00:00Z", seed: 5, trainingDataSHA256: "", validationDataSHA256: "",
                                     encoderSHA256: "", embeddingDimension: 4, embeddingScale: 1, hidden: 3, inputs: builder.count,
                                     emojiVocabulary: vocab, weightsFile: "heads.\(precision.rawValue)", weightsSHA256: "", bestEpoch: 1,
                                     validation: EvaluationReport(n: 0), neutralThreshold: 0.5, training: [:])
        manifest.weightsPrecision = precision
        if precision == .f16 {
            func half(_ v: [Float]) -> [Float] { v.map { Float(Float16($0)) } }
            #expect(half(net.w1) != net.w1)
            net = HeadsNetwork(inputs: net.inputs, hidden: 3, w1: half(net.w1), b1: half(net.b1), w2: half(net.w2), b2: half(net.b2))
        }
        let heads = EmotionHeads(manifest: manifest, network: net, builder: builder)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try heads.save(to: dir)
        let bytes = try Data(contentsOf: dir.appendingPathComponent(manifest.weightsFile)).count
        #expect(bytes == (precision == .f16 ? 2 : 4) * (net.w1.count + net.b1.count + net.w2.count + net.b2.count))
        let loaded = try EmotionHeads(directory: dir)
        #expect(loaded.manifest.weightsPrecision == precision)
        #expect(loaded.network == net)
        var ctx = DialogueContext()
        ctx.append(embedding: [0.5, 0.5, 0.5, 0.5], speaker: "a", emoji: loaded.emojiFeatures(text: "ugh 🙄"))
        let p = loaded.predict(embedding: [1, 0, 0, 0], text: "no 😡", emojiFeatures: loaded.emojiFeatures(text: "no 😡"), context: ctx, speaker: "b")
        #expect(p.probabilities.count == 32 && abs(p.probabilities.reduce(0, +) - 1) < 1e-4)
        #expect(p.primaries.count == 8 && (0...1).contains(p.sarcasm) && (0...1).contains(p.intensity) && (0...1).contains(p.neutral))
        #expect(p.isNeutral == (p.neutral >= 0.5))
        #expect(p == heads.predict(embedding: [1, 0, 0, 0], text: "no 😡", emojiFeatures: heads.emojiFeatures(text: "no 😡"), context: ctx, speaker: "b"))
    }

    /// A turn's prediction does not depend on the rest of its batch (bit for bit), and matches the
    /// training-time forward pass.
    @Test func batchedPredictionEqualsOneTurnAtATime() {
        var rng = SeededGenerator(seed: 11)
        let vocab = EmojiVocabulary(symbols: ["😡", "🙄"])
        let builder = HeadsFeatureBuilder(embeddingDimension: 8, vocabulary: vocab, embeddingScale: 1)
        let net = HeadsNetwork(inputs: builder.count, hidden: 37, rng: &rng)
        let manifest = HeadsManifest(version: "t", created: "", seed: 11, trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "",
                                     embeddingDimension: 8, embeddingScale: 1, hidden: 37, inputs: builder.count, emojiVocabulary: vocab,
                                     weightsFile: "heads.f32", weightsSHA256: "", bestEpoch: 1, validation: EvaluationReport(n: 0),
                                     neutralThreshold: 0.5, training: [:])
        let heads = EmotionHeads(manifest: manifest, network: net, builder: builder)
        let texts = ["so angry 😡", "fine", "ugh 🙄", "ok then", "what", "no 😡", "sure", "hm", "right", "done", "x", "y", "z"]
        var contexts: [String: DialogueContext] = [:]
        let turns = texts.enumerated().map { i, t in
            (key: "d\(i % 3)", vector: (0..<8).map { _ in rng.nextUnit() - 0.5 }, text: t, speaker: i % 2 == 0 ? "a" : "b")
        }
        let batched = heads.predictNext(turns, contexts: &contexts)
        var one: [String: DialogueContext] = [:]
        for (t, b) in zip(turns, batched) {
            let alone = heads.predictNext([t], contexts: &one)[0]
            #expect(alone == b)
        }
        #expect(contexts.mapValues(\.turns) == one.mapValues(\.turns))
        // Against the training forward pass, from the same features.
        var ctx: [String: DialogueContext] = [:]
        for (t, b) in zip(turns, batched) {
            let emoji = heads.emojiFeatures(text: t.text)
            let x = builder.features(embedding: t.vector, emoji: emoji, context: ctx[t.key, default: DialogueContext()], speaker: t.speaker)
            let p = EmotionHeads.predictions(logits: net.forward(x, batch: 1).z, batch: 1)[0]
            #expect(zip(p.probabilities, b.probabilities).map { abs($0 - $1) }.max()! < 1e-5)
            ctx[t.key, default: DialogueContext()].append(embedding: t.vector, speaker: t.speaker, emoji: emoji)
        }
    }
}
