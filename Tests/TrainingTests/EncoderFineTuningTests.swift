import Foundation
import Testing
import Contracts
@testable import Encoder
@testable import Training
import Kernels

/// A tiny random BERT checkpoint and helpers shared by the fine-tuning tests.
enum TinyEncoder {
    static let config = MiniLMConfig(vocabSize: 50, hidden: 32, heads: 2, headDim: 16, ffn: 64, layers: 2, maxPositions: 16)

    /// Every base tensor of `cf` with random values (matrices ~ N(0, 1/in), embeddings ~ N(0, 0.25),
    /// layernorm gains near 1, biases small).
    static func tensors(_ cf: MiniLMConfig, seed: UInt64) -> [(String, [Int], [Float])] {
        var rng = SeededGenerator(seed: seed)
        func gauss(_ n: Int, _ s: Float, _ mean: Float = 0) -> [Float] { (0..<n).map { _ in mean + s * rng.nextGaussian() } }
        let c = cf.hidden, f = cf.ffn
        var t: [(String, [Int], [Float])] = [
            ("embeddings.word_embeddings.weight", [cf.vocabSize, c], gauss(cf.vocabSize * c, 0.5)),
            ("embeddings.position_embeddings.weight", [cf.maxPositions, c], gauss(cf.maxPositions * c, 0.5)),
            ("embeddings.token_type_embeddings.weight", [cf.typeVocab, c], gauss(cf.typeVocab * c, 0.5)),
            ("embeddings.LayerNorm.weight", [c], gauss(c, 0.1, 1)), ("embeddings.LayerNorm.bias", [c], gauss(c, 0.1)),
        ]
        for l in 0..<cf.layers {
            let p = "encoder.layer.\(l)."
            for n in ["query", "key", "value"] {
                t += [(p + "attention.self.\(n).weight", [c, c], gauss(c * c, 1 / Float(c).squareRoot())),
                      (p + "attention.self.\(n).bias", [c], gauss(c, 0.1))]
            }
            t += [(p + "attention.output.dense.weight", [c, c], gauss(c * c, 1 / Float(c).squareRoot())),
                  (p + "attention.output.dense.bias", [c], gauss(c, 0.1)),
                  (p + "attention.output.LayerNorm.weight", [c], gauss(c, 0.1, 1)),
                  (p + "attention.output.LayerNorm.bias", [c], gauss(c, 0.1)),
                  (p + "intermediate.dense.weight", [f, c], gauss(f * c, 1 / Float(c).squareRoot())),
                  (p + "intermediate.dense.bias", [f], gauss(f, 0.1)),
                  (p + "output.dense.weight", [c, f], gauss(c * f, 1 / Float(f).squareRoot())),
                  (p + "output.dense.bias", [c], gauss(c, 0.1)),
                  (p + "output.LayerNorm.weight", [c], gauss(c, 0.1, 1)),
                  (p + "output.LayerNorm.bias", [c], gauss(c, 0.1))]
        }
        return t
    }

    static func write(_ tensors: [(String, [Int], [Float])], to url: URL) throws {
        var w = SafeTensorsWriter()
        for (n, s, v) in tensors { w.add(n, shape: s, v) }
        try w.write(to: url)
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("finetune-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A training model on a fresh random checkpoint, with random (non-zero) LoRA B and
    /// perturbed biases/layernorms, so every gradient is exercised.
    static func model(trainedLayers: Int, rank: Int = 4, alpha: Float = 8, seed: UInt64 = 7) throws -> (MiniLMTrainingModel, URL) {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("model.safetensors")
        try write(tensors(config, seed: seed), to: url)
        let base = try MiniLMWeights(file: SafeTensors(url: url), config: config)
        let m = MiniLMTrainingModel(base: base, rank: rank, alpha: alpha, trainedLayers: trainedLayers,
                                    headOutputs: FineTuneHeads.outputs, seed: seed)
        var rng = SeededGenerator(seed: seed &+ 100)
        let l = m.layout
        for t in 0..<l.trainedLayers {
            for target in LoRATarget.allCases {
                let (o, _) = target.shape(config)
                let b = m.params + l.loraB[t][target.rawValue]
                for j in 0..<(o * rank) { b[j] = 0.2 * rng.nextGaussian() }
            }
            for v in LayerVector.allCases {
                let p = m.params + l.vectors[t][v.rawValue]
                for j in 0..<v.count(config) { p[j] += 0.05 * rng.nextGaussian() }
            }
        }
        for j in 0..<(l.headOutputs * config.hidden) { m.params[l.headW + j] = 0.3 * rng.nextGaussian() }
        for j in 0..<l.headOutputs { m.params[l.headB + j] = 0.1 * rng.nextGaussian() }
        return (m, dir)
    }

    static let batch: [[Int32]] = [[2, 17, 5, 33, 9, 3], [2, 41, 3], [2, 8, 8, 12, 30, 44, 21, 6, 3]]

    static func pooled(_ m: MiniLMTrainingModel, _ batch: [[Int32]] = batch) -> [Float] {
        var out = [Float](repeating: 0, count: batch.count * m.cf.hidden)
        out.withUnsafeMutableBufferPointer { m.forward(batch, pooled: $0.baseAddress!) }
        return out
    }
}

private func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct EncoderTrainingForwardTests {
    /// The training forward's pooled vector equals the inference encoder's mean-pooled last
    /// layer (before normalisation) for the same weights (adapters at B = 0 are the identity).
    @Test(arguments: [0, 1, 2])
    func matchesInferenceEncoder(trainedLayers: Int) throws {
        let dir = try TinyEncoder.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        try TinyEncoder.write(TinyEncoder.tensors(TinyEncoder.config, seed: 3), to: url)
        let base = try MiniLMWeights(file: SafeTensors(url: url), config: TinyEncoder.config)
        let m = MiniLMTrainingModel(base: base, rank: 4, alpha: 8, trainedLayers: trainedLayers, headOutputs: 0, seed: 1)
        let enc = try MiniLMEncoder(weights: base, configuration: .init(maxLength: 16))
        let (emb, lf) = try enc.encode(TinyEncoder.batch, layers: [2])
        let got = TinyEncoder.pooled(m)
        let c = TinyEncoder.config.hidden
        for b in 0..<TinyEncoder.batch.count {
            let row = Array(got[(b * c)..<((b + 1) * c)])
            #expect(maxAbsDiff(row, lf[b]) < 1e-5, "sequence \(b): pooled differs from the encoder's by \(maxAbsDiff(row, lf[b]))")
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(maxAbsDiff(row.map { $0 / norm }, emb[b]) < 1e-5)
        }
    }

    /// On the real all-MiniLM-L6-v2 weights, the training forward (all six layers trained,
    /// adapters at identity) reproduces the golden sentence-transformers embeddings.
    @Test func matchesGoldenEmbeddingsOnRealWeights() throws {
        let dir = ProcessInfo.processInfo.environment["PLUTCHIK_MODEL_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/all-MiniLM-L6-v2")
        let file = dir.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: file.path) else {
            Issue.record("model weights missing at \(file.path): run Deploy/fetch-model.sh")
            return
        }
        struct Golden: Decodable { let ids: [Int32]; let embedding: [Float] }
        let golden = try JSONDecoder().decode([Golden].self, from: Data(contentsOf: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("EncoderTests/Fixtures/encoder-golden.json")))
        let cases = Array(golden.prefix(12))
        let m = MiniLMTrainingModel(base: try MiniLMWeights(file: SafeTensors(url: file)), rank: 8, alpha: 16,
                                    trainedLayers: 6, headOutputs: 0, seed: 1)
        let got = TinyEncoder.pooled(m, cases.map(\.ids))
        for (b, g) in cases.enumerated() {
            let row = Array(got[(b * 384)..<((b + 1) * 384)])
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(maxAbsDiff(row.map { $0 / norm }, g.embedding) < 1e-4)
        }
    }

    /// Merging the adapter into the weights at load time (every GEMM path) gives the forward
    /// the training model computes with the adapter unmerged in its parameters.
    @Test(arguments: [(1, false), (2, false), (2, true)])
    func mergedAdapterMatchesTrainingForward(trainedLayers: Int, panels: Bool) throws {
        let (m, dir) = try TinyEncoder.model(trainedLayers: trainedLayers)
        defer { try? FileManager.default.removeItem(at: dir) }
        let adapterURL = dir.appendingPathComponent("adapter.safetensors")
        try EncoderFineTuner.adapterWriter(m, includeVectors: true, half: false).write(to: adapterURL)
        let adapter = try EncoderAdapter(file: SafeTensors(url: adapterURL))
        #expect(adapter.rank == 4 && adapter.alpha == 8)
        let w = try MiniLMWeights(file: SafeTensors(url: dir.appendingPathComponent("model.safetensors")),
                                  config: TinyEncoder.config, panels32: panels && CPUFeatures.avx512, adapter: adapter)
        let enc = try MiniLMEncoder(weights: w, configuration: .init(maxLength: 16))
        let lf = try enc.encode(TinyEncoder.batch, layers: [2]).layerFeatures
        let got = TinyEncoder.pooled(m)
        let base = try MiniLMEncoder(weights: MiniLMWeights(file: SafeTensors(url: dir.appendingPathComponent("model.safetensors")),
                                                            config: TinyEncoder.config), configuration: .init(maxLength: 16))
        let plain = try base.encode(TinyEncoder.batch, layers: [2]).layerFeatures
        let c = TinyEncoder.config.hidden
        for b in 0..<TinyEncoder.batch.count {
            let row = Array(got[(b * c)..<((b + 1) * c)])
            #expect(maxAbsDiff(row, lf[b]) < 1e-4, "sequence \(b): \(maxAbsDiff(row, lf[b]))")
            #expect(maxAbsDiff(plain[b], lf[b]) > 1e-2, "the adapter should change the output")
        }
    }

    /// `MiniLMEncoder(modelFile:adapter:)` equals an encoder on a checkpoint merged by hand
    /// (W + (alpha/r)·B·A in Float64, replaced vectors); a changed adapter file fails to load,
    /// naming the file.
    @Test func adapterLoadEqualsHandMergedCheckpoint() throws {
        let (m, dir) = try TinyEncoder.model(trainedLayers: 2, rank: 3, alpha: 5)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cf = TinyEncoder.config
        let adapterDir = dir.appendingPathComponent("adapter")
        try FileManager.default.createDirectory(at: adapterDir, withIntermediateDirectories: true)
        let adapterURL = adapterDir.appendingPathComponent("adapter.safetensors")
        try EncoderFineTuner.adapterWriter(m, includeVectors: true, half: false).write(to: adapterURL)
        var manifest = EncoderAdapterManifest(
            baseModel: "tiny", baseModelSHA256: "", rank: 3, alpha: 5, layers: [0, 1], trainsBiasesAndNorms: true,
            adapterFile: "adapter.safetensors", adapterSHA256: try SHA256.hex(fileAt: adapterURL), headsFile: "", headsSHA256: "",
            goEmotionsLabels: goEmotionsLabels, command: "test", data: [], configuration: [:], epochs: [], bestEpoch: 1,
            trainingSeconds: 0, createdAt: "")
        try EncoderFineTuner.writeManifest(manifest, to: adapterDir)

        // Merge by hand.
        var merged = TinyEncoder.tensors(cf, seed: 7)
        let a = try SafeTensors(url: adapterURL)
        let s = 5.0 / 3.0
        for i in merged.indices {
            let (name, shape, values) = merged[i]
            if let t = a.tensors[name] { merged[i].2 = try a.floats(name, shape: t.shape); continue }
            // query/key/value weights: rows of the fused qkv adapter.
            for (part, qkv) in ["query", "key", "value"].enumerated() where name.hasSuffix("attention.self.\(qkv).weight") {
                let prefix = String(name.dropLast("\(qkv).weight".count)) + "qkv"
                merged[i].2 = try handMerge(values, shape, a, prefix, rowOffset: part * cf.hidden, scale: s)
            }
            for suffix in ["attention.output.dense", "intermediate.dense", "output.dense"] where name.hasSuffix(suffix + ".weight")
                && !(suffix == "output.dense" && name.hasSuffix("attention.output.dense.weight")) {
                merged[i].2 = try handMerge(values, shape, a, String(name.dropLast(".weight".count)), rowOffset: 0, scale: s)
            }
        }
        let mergedURL = dir.appendingPathComponent("merged.safetensors")
        try TinyEncoder.write(merged, to: mergedURL)
        let byHand = try MiniLMEncoder(weights: MiniLMWeights(file: SafeTensors(url: mergedURL), config: cf), configuration: .init(maxLength: 16))
        let loaded = try MiniLMEncoder(weights: MiniLMWeights(file: SafeTensors(url: dir.appendingPathComponent("model.safetensors")), config: cf,
                                                              adapter: EncoderAdapter(url: adapterDir)), configuration: .init(maxLength: 16))
        let x = try byHand.encode(TinyEncoder.batch), y = try loaded.encode(TinyEncoder.batch)
        for (p, q) in zip(x, y) { #expect(maxAbsDiff(p, q) < 1e-5) }

        // A manifest hash that does not match names the adapter file.
        manifest.adapterSHA256 = String(repeating: "0", count: 64)
        try EncoderFineTuner.writeManifest(manifest, to: adapterDir)
        #expect { try EncoderAdapter(url: adapterDir) } throws: {
            let msg = ($0 as? ModelError)?.message ?? ""
            return msg.contains(adapterURL.path) && msg.contains("does not match")
        }
        // An adapter for more layers than the encoder has is refused.
        let small = MiniLMConfig(vocabSize: 50, hidden: 32, heads: 2, headDim: 16, ffn: 64, layers: 1, maxPositions: 16)
        #expect { try EncoderAdapter(file: a).validate(small) } throws: {
            (($0 as? ModelError)?.message ?? "").contains("encoder.layer.1.")
        }
    }

    private func handMerge(_ w: [Float], _ shape: [Int], _ a: SafeTensors, _ prefix: String, rowOffset: Int, scale: Double) throws -> [Float] {
        let (o, i) = (shape[0], shape[1])
        let at = a.tensors[prefix + ".lora_A"]!, bt = a.tensors[prefix + ".lora_B"]!
        let r = at.shape[0]
        let av = try a.floats(prefix + ".lora_A", shape: at.shape), bv = try a.floats(prefix + ".lora_B", shape: bt.shape)
        var out = w
        for row in 0..<o {
            for col in 0..<i {
                var d = 0.0
                for k in 0..<r { d += Double(bv[(rowOffset + row) * r + k]) * Double(av[k * i + col]) }
                out[row * i + col] = Float(Double(w[row * i + col]) + scale * d)
            }
        }
        return out
    }
}

@Suite struct EncoderGradientTests {
    /// Analytic gradients against central differences for every kind of trainable tensor of
    /// every trained layer, on L = Σ R ⊙ pooled with a fixed random R. For each tensor the
    /// entry with the largest analytic gradient and 5 random ones are checked:
    /// |analytic − numeric| ≤ 1 % of |numeric| + 0.2 % of the tensor's largest gradient.
    @Test(arguments: [1, 2])
    func encoderGradientsMatchFiniteDifferences(trainedLayers: Int) throws {
        let (m, dir) = try TinyEncoder.model(trainedLayers: trainedLayers)
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = TinyEncoder.config.hidden, b = TinyEncoder.batch.count
        var rng = SeededGenerator(seed: 11)
        let r = (0..<(b * c)).map { _ in rng.nextGaussian() }
        func loss() -> Double {
            zip(TinyEncoder.pooled(m), r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        m.zeroGradients()
        _ = TinyEncoder.pooled(m)
        r.withUnsafeBufferPointer { m.backward(dPooled: $0.baseAddress!) }
        #expect(m.layout.headW == m.layout.count - FineTuneHeads.outputs * c - FineTuneHeads.outputs)
        // Heads are not part of this loss: their gradient stays zero.
        #expect((m.layout.headW..<m.layout.count).allSatisfy { m.grads[$0] == 0 })

        var tensors: [(String, Int, Int)] = []   // name, offset, count
        let l = m.layout
        for t in 0..<l.trainedLayers {
            for target in LoRATarget.allCases {
                let (o, i) = target.shape(TinyEncoder.config)
                tensors.append(("layer \(l.firstTrained + t) \(target) A", l.loraA[t][target.rawValue], l.rank * i))
                tensors.append(("layer \(l.firstTrained + t) \(target) B", l.loraB[t][target.rawValue], o * l.rank))
            }
            for v in LayerVector.allCases {
                tensors.append(("layer \(l.firstTrained + t) \(v)", l.vectors[t][v.rawValue], v.count(TinyEncoder.config)))
            }
        }
        #expect(tensors.count == 16 * trainedLayers)
        let eps: Float = 1e-2
        var worst = 0.0
        for (name, offset, count) in tensors {
            let g = (0..<count).map { m.grads[offset + $0] }
            let scale = g.map(abs).max()!
            #expect(scale > 1e-4, "\(name): analytic gradient is all zero")
            var picks = [g.indices.max { abs(g[$0]) < abs(g[$1]) }!]
            for _ in 0..<5 { picks.append(Int(rng.next() % UInt64(count))) }
            for j in picks {
                let p = m.params + offset + j
                let saved = p.pointee
                p.pointee = saved + eps
                let up = loss()
                p.pointee = saved - eps
                let down = loss()
                p.pointee = saved
                let numeric = (up - down) / (2 * Double(eps))
                let err = abs(Double(g[j]) - numeric)
                worst = max(worst, err / (0.01 * abs(numeric) + 0.002 * Double(scale)))
                #expect(err <= 0.01 * abs(numeric) + 0.002 * Double(scale),
                        "\(name)[\(j)]: analytic \(g[j]), numeric \(numeric)")
            }
        }
        print("gradient check, \(trainedLayers) trained layers: worst error / tolerance \(worst)")
    }

    /// The multitask loss's gradient with respect to the logits, against central differences.
    @Test func lossGradientMatchesFiniteDifferences() {
        let k = FineTuneHeads.outputs
        let examples = [
            FineTuneExample(ids: [], emotion: 9, sector: 1, neutral: 0, goEmotions: [0, 4]),
            FineTuneExample(ids: [], neutral: 1, goEmotions: [27]),
            FineTuneExample(ids: [], emotion: 22, weight: 4),
        ]
        var rng = SeededGenerator(seed: 5)
        var z = (0..<(3 * k)).map { _ in 2 * rng.nextGaussian() }
        var dz = [Float](repeating: 0, count: 3 * k)
        let base = z.withUnsafeBufferPointer { zp in dz.withUnsafeMutableBufferPointer { fineTuneLoss(zp.baseAddress!, examples, goEmotionsWeight: 0.25, dlogits: $0.baseAddress!) } }
        #expect(base > 0)
        var scratch = dz
        func loss() -> Double {
            z.withUnsafeBufferPointer { zp in scratch.withUnsafeMutableBufferPointer { fineTuneLoss(zp.baseAddress!, examples, goEmotionsWeight: 0.25, dlogits: $0.baseAddress!) } }
        }
        let eps: Float = 1e-2
        for j in 0..<(3 * k) {
            let saved = z[j]
            z[j] = saved + eps; let up = loss()
            z[j] = saved - eps; let down = loss()
            z[j] = saved
            let numeric = (up - down) / (2 * Double(eps))
            #expect(abs(numeric - Double(dz[j])) < 1e-3, "logit \(j): analytic \(dz[j]), numeric \(numeric)")
        }
        // The second example has no class or sector: those logits get no gradient.
        #expect(FineTuneHeads.emotion.allSatisfy { dz[k + $0] == 0 } && FineTuneHeads.sector.allSatisfy { dz[k + $0] == 0 })
    }

    /// Heads and encoder together, as a training step computes them: head weights, head biases
    /// and the top layer's LoRA B against central differences of the multitask loss.
    @Test func multitaskStepGradients() throws {
        let (m, dir) = try TinyEncoder.model(trainedLayers: 1)
        defer { try? FileManager.default.removeItem(at: dir) }
        let examples = [
            FineTuneExample(ids: TinyEncoder.batch[0], emotion: 3, sector: 3, neutral: 0, goEmotions: [26]),
            FineTuneExample(ids: TinyEncoder.batch[1], neutral: 1, goEmotions: [27]),
            FineTuneExample(ids: TinyEncoder.batch[2], emotion: 30, weight: 4),
        ]
        let c = m.cf.hidden, k = FineTuneHeads.outputs, b = examples.count
        var pooled = [Float](repeating: 0, count: b * c), dpooled = pooled
        var z = [Float](repeating: 0, count: b * k), dz = z
        func step(backward: Bool) -> Double {
            pooled.withUnsafeMutableBufferPointer { pp in z.withUnsafeMutableBufferPointer { zp in
                dz.withUnsafeMutableBufferPointer { dzp in dpooled.withUnsafeMutableBufferPointer { dpp in
                    m.forward(examples.map(\.ids), pooled: pp.baseAddress!)
                    headsForward(zp.baseAddress!, pp.baseAddress!, m, batch: b)
                    let loss = fineTuneLoss(zp.baseAddress!, examples, goEmotionsWeight: 0.25, dlogits: dzp.baseAddress!)
                    if backward {
                        headsBackward(dpp.baseAddress!, dzp.baseAddress!, pp.baseAddress!, m, batch: b)
                        m.backward(dPooled: dpp.baseAddress!)
                    }
                    return loss
                } }
            } }
        }
        m.zeroGradients()
        _ = step(backward: true)
        let l = m.layout
        let checks = [l.headW + 3 * c + 5, l.headW + 35 * c + 1, l.headW + 40 * c + 7, l.headW + 67 * c + 2,
                      l.headB + 3, l.headB + 40, l.headB + 68, l.loraB[0][LoRATarget.ffnOut.rawValue] + 9,
                      l.vectors[0][LayerVector.ln2Gain.rawValue] + 4]
        let eps: Float = 1e-2
        for j in checks {
            let saved = m.params[j]
            m.params[j] = saved + eps; let up = step(backward: false)
            m.params[j] = saved - eps; let down = step(backward: false)
            m.params[j] = saved
            let numeric = (up - down) / (2 * Double(eps))
            #expect(abs(numeric - Double(m.grads[j])) <= 0.03 * abs(numeric) + 1e-4, "param \(j): analytic \(m.grads[j]), numeric \(numeric)")
        }
    }

    /// A few AdamW steps on one batch lower its loss (the whole training step wired together).
    @Test func lossFallsOnAFixedBatch() throws {
        let (m, dir) = try TinyEncoder.model(trainedLayers: 2)
        defer { try? FileManager.default.removeItem(at: dir) }
        let examples = zip(TinyEncoder.batch, [(5, 5, Int8(0)), (12, 4, 0), (25, 0, 1)]).map {
            FineTuneExample(ids: $0.0, emotion: $0.1.0, sector: $0.1.1, neutral: $0.1.2, goEmotions: [1])
        }
        let c = m.cf.hidden, k = FineTuneHeads.outputs, b = examples.count
        var pooled = [Float](repeating: 0, count: b * c), dpooled = pooled
        var z = [Float](repeating: 0, count: b * k), dz = z
        var adam = AdamW(count: m.layout.count)
        var losses: [Double] = []
        for _ in 0..<15 {
            m.zeroGradients()
            let loss = pooled.withUnsafeMutableBufferPointer { pp in z.withUnsafeMutableBufferPointer { zp in
                dz.withUnsafeMutableBufferPointer { dzp in dpooled.withUnsafeMutableBufferPointer { dpp in
                    m.forward(examples.map(\.ids), pooled: pp.baseAddress!)
                    headsForward(zp.baseAddress!, pp.baseAddress!, m, batch: b)
                    let loss = fineTuneLoss(zp.baseAddress!, examples, goEmotionsWeight: 0.25, dlogits: dzp.baseAddress!)
                    headsBackward(dpp.baseAddress!, dzp.baseAddress!, pp.baseAddress!, m, batch: b)
                    m.backward(dPooled: dpp.baseAddress!)
                    return loss
                } }
            } }
            losses.append(loss)
            clipGradients(m.grads, count: m.layout.count, maxNorm: 1)
            adam.step(m.params, m.grads, groups: [(0..<m.layout.count, lr: 1e-2, decay: 0.01)], factor: 1)
        }
        #expect(losses.last! < 0.5 * losses.first!, "losses \(losses)")
    }
}

@Suite struct EncoderFineTunerTests {
    static let words = ["great", "thanks", "love", "hate", "awful", "angry", "scared", "wow", "okay", "the", "is", "it",
                        "this", "so", "sad", "happy", "not", "sure", "what", "why", "yes", "no", "fine", "good", "bad"]

    /// A tiny model directory (random checkpoint, small vocabulary) and data files.
    static func fixtures() throws -> (dir: URL, data: EncoderFineTuningData) {
        let dir = try TinyEncoder.temporaryDirectory()
        try TinyEncoder.write(TinyEncoder.tensors(TinyEncoder.config, seed: 21), to: dir.appendingPathComponent("model.safetensors"))
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!", "?"] + words
        try (vocab.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        var rng = SeededGenerator(seed: 3)
        func text() -> String { (0..<(2 + Int(rng.next() % 6))).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") }
        let classes: [(String?, String?, [String])] = [
            ("admiration", "trust", ["admiration"]), ("anger", "anger", ["anger"]), (nil, nil, ["neutral"]),
            ("love", nil, ["love"]), (nil, "joy", ["joy", "amusement"]), ("interest", "anticipation", ["curiosity"]),
        ]
        func goRows(_ n: Int) -> String {
            (0..<n).map { i in
                let (p, s, g) = classes[i % classes.count]
                let obj: [String: Any] = ["id": "r\(i)", "text": text(), "goemotions": g, "plutchik": p ?? NSNull(),
                                          "sector": s ?? NSNull(), "neutral": g == ["neutral"]]
                return String(decoding: try! JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
            }.joined(separator: "\n") + "\n"
        }
        func seedRows(_ n: Int) -> String {
            let emotions = ["joy", "anger", "remorse", "interest"]
            return (0..<n).map { i in
                let obj: [String: Any] = ["dialogue_id": "D\(i / 3)", "turn_id": i % 3, "speaker": "A", "text": text() + (i % 2 == 0 ? " 😡" : ""),
                                          "emotion": emotions[i % emotions.count], "sarcasm_flag": false]
                return String(decoding: try! JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
            }.joined(separator: "\n") + "\n"
        }
        let files = ["go-train.jsonl": goRows(30), "go-dev.jsonl": goRows(18), "seed-train.jsonl": seedRows(9), "seed-val.jsonl": seedRows(6)]
        for (name, body) in files { try body.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return (dir, EncoderFineTuningData(
            goEmotionsTrain: dir.appendingPathComponent("go-train.jsonl"), goEmotionsDev: dir.appendingPathComponent("go-dev.jsonl"),
            seedTrain: dir.appendingPathComponent("seed-train.jsonl"), seedVal: dir.appendingPathComponent("seed-val.jsonl")))
    }

    static func tuner(_ dir: URL) -> EncoderFineTuner {
        var cf = EncoderFineTuningConfiguration()
        cf.layers = 1; cf.rank = 2; cf.alpha = 4; cf.epochs = 2; cf.batchSize = 4; cf.maxTokens = 16
        cf.threads = 1; cf.progressInterval = 0
        var t = EncoderFineTuner(modelDirectory: dir, configuration: cf)
        t.baseConfig = TinyEncoder.config
        return t
    }

    /// A whole run on tiny fixtures writes an adapter (top layer only), heads and a manifest
    /// whose hash matches; the adapter loads into an encoder and changes its output; the same
    /// seed gives the same adapter bytes.
    @Test func runWritesLoadableAdapter() throws {
        let (dir, data) = try Self.fixtures()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        var lines: [String] = []
        let m = try Self.tuner(dir).run(data: data, output: out, command: "test run") { lines.append($0) }
        #expect(m.epochs.count == 2 && (1...2).contains(m.bestEpoch))
        #expect(m.layers == [1] && m.rank == 2 && m.alpha == 4 && m.command == "test run")
        #expect(m.data.map(\.rows) == [30, 18, 9, 6] && m.data.allSatisfy { $0.sha256.count == 64 })
        for e in m.epochs {
            for v in [e.goEmotionsClassMacroF1, e.goEmotionsSectorAccuracy, e.goEmotionsSectorAccuracyFromClass, e.goEmotionsNeutralAUROC, e.seedValMacroF1TextOnly] {
                #expect((0...1).contains(v))
            }
            #expect(e.trainLoss.isFinite && e.trainLoss > 0)
        }
        #expect(lines.contains { $0.contains("step") && $0.contains("ex/s") && $0.contains("ETA") })
        #expect(lines.contains { $0.contains("neutral AUROC") })

        let adapterURL = out.appendingPathComponent("adapter.safetensors")
        #expect(try SHA256.hex(fileAt: adapterURL) == m.adapterSHA256 && m.adapterSHA256.count == 64)
        #expect(try SHA256.hex(fileAt: out.appendingPathComponent("heads.safetensors")) == m.headsSHA256)
        let st = try SafeTensors(url: adapterURL)
        #expect(st.tensors["encoder.layer.1.attention.self.qkv.lora_A"]?.shape == [2, 32])
        #expect(st.tensors["encoder.layer.1.intermediate.dense.lora_B"]?.shape == [64, 2])
        #expect(st.tensors["encoder.layer.1.attention.self.key.bias"]?.shape == [32])
        #expect(!st.tensors.keys.contains { $0.hasPrefix("encoder.layer.0.") })
        let heads = try SafeTensors(url: out.appendingPathComponent("heads.safetensors"))
        #expect(heads.tensors["head.emotion.weight"]?.shape == [32, 32] && heads.tensors["head.goemotions.bias"]?.shape == [28])

        let modelURL = dir.appendingPathComponent("model.safetensors")
        let tuned = try MiniLMEncoder(weights: MiniLMWeights(file: SafeTensors(url: modelURL), config: TinyEncoder.config,
                                                             adapter: EncoderAdapter(url: out)), configuration: .init(maxLength: 16))
        let plain = try MiniLMEncoder(weights: MiniLMWeights(file: SafeTensors(url: modelURL), config: TinyEncoder.config),
                                      configuration: .init(maxLength: 16))
        let ids = TinyEncoder.batch.map { $0.map { min($0, 30) } }
        let a = try tuned.encode(ids), b = try plain.encode(ids)
        #expect(zip(a, b).contains { maxAbsDiff($0, $1) > 1e-4 })

        let again = try Self.tuner(dir).run(data: data, output: dir.appendingPathComponent("out2"), command: "test run")
        #expect(again.adapterSHA256 == m.adapterSHA256)
    }

    /// A malformed data row is reported with its file and line.
    @Test func badRowIsNamed() throws {
        let (dir, data) = try Self.fixtures()
        defer { try? FileManager.default.removeItem(at: dir) }
        let body = try String(contentsOf: data.goEmotionsTrain, encoding: .utf8)
            + "{\"id\": \"x\", \"text\": \"hi\", \"goemotions\": [\"glee\"], \"plutchik\": null, \"sector\": null, \"neutral\": false}\n"
        try body.write(to: data.goEmotionsTrain, atomically: true, encoding: .utf8)
        #expect { try Self.tuner(dir).run(data: data, output: dir.appendingPathComponent("out"), command: "") } throws: {
            let msg = ($0 as? ModelError)?.message ?? ""
            return msg.contains("go-train.jsonl:31") && msg.contains("glee")
        }
    }
}
