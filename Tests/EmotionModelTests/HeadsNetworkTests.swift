import Foundation
import Testing
@testable import EmotionModel

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
        let targets = (0..<b).map { i in HeadsTarget(label: (i * 7) % 32, sarcasm: Float(i % 2), intensity: [0.25, 0.5, 0.6, 1][i]) }
        var loss = HeadsLoss(sarcasmWeight: 0.7, sarcasmPositiveWeight: 1.5, intensityWeight: 0.9)
        loss.classWeights = (0..<32).map { Float($0 % 3) * 0.5 + 0.5 }

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

    @Test func headsRoundTripThroughDirectory() throws {
        var rng = SeededGenerator(seed: 5)
        let vocab = EmojiVocabulary(symbols: ["😡", "🙄"])
        let builder = HeadsFeatureBuilder(embeddingDimension: 4, vocabulary: vocab, embeddingScale: 1)
        let net = HeadsNetwork(inputs: builder.count, hidden: 3, rng: &rng)
        let manifest = HeadsManifest(version: "t", created: "2026-01-01T00:00:00Z", seed: 5, trainingDataSHA256: "", validationDataSHA256: "",
                                     encoderSHA256: "", embeddingDimension: 4, embeddingScale: 1, hidden: 3, inputs: builder.count,
                                     emojiVocabulary: vocab, weightsFile: "heads.f32", weightsSHA256: "", bestEpoch: 1,
                                     validation: EvaluationReport(n: 0), training: [:])
        let heads = EmotionHeads(manifest: manifest, network: net, builder: builder)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try heads.save(to: dir)
        let loaded = try EmotionHeads(directory: dir)
        #expect(loaded.network == net)
        var ctx = DialogueContext()
        ctx.append(embedding: [0.5, 0.5, 0.5, 0.5], speaker: "a", emoji: loaded.emojiFeatures(text: "ugh 🙄"))
        let p = loaded.predict(embedding: [1, 0, 0, 0], text: "no 😡", emojiFeatures: loaded.emojiFeatures(text: "no 😡"), context: ctx, speaker: "b")
        #expect(p.probabilities.count == 32 && abs(p.probabilities.reduce(0, +) - 1) < 1e-4)
        #expect(p.primaries.count == 8 && (0...1).contains(p.sarcasm) && (0...1).contains(p.intensity))
        #expect(p == heads.predict(embedding: [1, 0, 0, 0], text: "no 😡", emojiFeatures: heads.emojiFeatures(text: "no 😡"), context: ctx, speaker: "b"))
    }
}
