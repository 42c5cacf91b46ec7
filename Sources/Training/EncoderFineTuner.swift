import Contracts
import Emotion
import Encoder
import Foundation
import Tokenizer
import Kernels

/// How `EncoderFineTuner` trains. Defaults follow the PyTorch recipe that worked on GoEmotions
/// (AdamW, weight decay 0.01, batch 32, 6 % linear warm-up then linear decay, 64 tokens,
/// batches of similar length), with learning rates for LoRA instead of full fine-tuning.
public struct EncoderFineTuningConfiguration: Sendable {
    /// Trained layers, counted from the top (0: frozen encoder, heads only; 6: all).
    public var layers = 6
    /// LoRA rank (0: no adapters, only biases and layernorms if `trainBiasesAndNorms`).
    public var rank = 16
    /// LoRA alpha: the adapter's delta is (alpha/rank)·B·A.
    public var alpha: Float = 32
    public var epochs = 2
    public var batchSize = 32
    /// Longest token sequence, [CLS] and [SEP] included.
    public var maxTokens = 64
    /// Learning rate of the LoRA matrices and of the trained biases and layernorms.
    public var adapterLearningRate: Float = 5e-4
    /// Learning rate of the linear heads.
    public var headLearningRate: Float = 1e-3
    /// Decoupled weight decay on the LoRA matrices and the head weights (not on biases or layernorms).
    public var weightDecay: Float = 0.01
    /// Fraction of all steps spent warming the learning rate up linearly from 0; then it decays linearly to 0.
    public var warmupFraction: Float = 0.06
    /// Gradients are scaled down to at most this global L2 norm (0: no clipping).
    public var gradientClip: Float = 1
    /// Train the biases and layernorm gains/biases of the trained layers too.
    public var trainBiasesAndNorms = true
    /// Loss weight of each seed dialogue turn (32-way class loss only). The default 4 gives the
    /// seed corpus (2,040 turns) about half the class-loss weight of GoEmotions' 16.7k classed rows.
    public var seedWeight: Float = 4
    /// The chance a seed turn with emoji is shown emoji-stripped, drawn per turn per epoch.
    public var seedStripProbability: Float = 0.5
    /// Weight on the summed binary cross-entropies of GoEmotions' 28 raw labels (0: off).
    public var goEmotionsLabelWeight: Float = 0.25
    /// Weight on the neutral binary cross-entropy (GoEmotions rows only).
    public var neutralWeight: Float = 1
    /// Keep only the first N rows of each data file (quick runs).
    public var limit: Int?
    public var seed: UInt64 = 42
    /// OpenBLAS threads.
    public var threads = 2
    /// Store the LoRA matrices as F16 (F32 otherwise; biases, norms and heads are always F32).
    public var halfPrecisionAdapter = false
    /// Seconds between progress lines.
    public var progressInterval: Double = 20

    public init() {}

    var summary: [String: String] {
        ["layers": "\(layers)", "rank": "\(rank)", "alpha": "\(alpha)", "epochs": "\(epochs)", "batch_size": "\(batchSize)",
         "max_tokens": "\(maxTokens)", "adapter_learning_rate": "\(adapterLearningRate)",
         "head_learning_rate": "\(headLearningRate)", "weight_decay": "\(weightDecay)",
         "warmup_fraction": "\(warmupFraction)", "gradient_clip": "\(gradientClip)",
         "train_biases_and_norms": "\(trainBiasesAndNorms)", "seed_weight": "\(seedWeight)",
         "seed_strip_probability": "\(seedStripProbability)", "goemotions_label_weight": "\(goEmotionsLabelWeight)",
         "neutral_weight": "\(neutralWeight)",
         "limit": limit.map { "\($0)" } ?? "none", "seed": "\(seed)", "threads": "\(threads)",
         "adapter_dtype": halfPrecisionAdapter ? "F16" : "F32",
         "seed_neutral": "no neutral loss on seed turns"]
    }
}

/// The data files of a fine-tuning run.
public struct EncoderFineTuningData: Sendable {
    public var goEmotionsTrain: URL
    public var goEmotionsDev: URL
    public var seedTrain: URL
    public var seedVal: URL

    public init(goEmotionsTrain: URL, goEmotionsDev: URL, seedTrain: URL, seedVal: URL) {
        self.goEmotionsTrain = goEmotionsTrain
        self.goEmotionsDev = goEmotionsDev
        self.seedTrain = seedTrain
        self.seedVal = seedVal
    }
}

/// Fine-tunes the MiniLM encoder with LoRA adapters and multitask linear heads on GoEmotions
/// plus the seed dialogue turns, scores every epoch on the dev sets, and writes the best
/// epoch's adapter (`adapter.safetensors`), heads (`heads.safetensors`) and `manifest.json`.
public struct EncoderFineTuner {
    public let configuration: EncoderFineTuningConfiguration
    let modelDirectory: URL
    /// The base checkpoint's shape (tests use tiny ones).
    var baseConfig: MiniLMConfig = .allMiniLML6

    /// `modelDirectory` holds `model.safetensors` and `vocab.txt`.
    public init(modelDirectory: URL, configuration: EncoderFineTuningConfiguration = .init()) {
        self.modelDirectory = modelDirectory
        self.configuration = configuration
    }

    /// Trains, writing the output directory whenever an epoch beats the previous best (so an
    /// interrupted run still leaves its best adapter), and returns the final manifest.
    /// `log` receives progress lines and per-epoch figures.
    public func run(data: EncoderFineTuningData, output: URL, command: String,
                    log: (String) -> Void = { _ in }) throws -> EncoderAdapterManifest {
        let cf = configuration
        guard (0...6).contains(cf.layers), cf.rank >= 0, cf.epochs >= 1, cf.batchSize >= 1, (2...512).contains(cf.maxTokens) else {
            throw ModelError(.invalidInput, "fine-tuning: layers must be 0...6, rank ≥ 0, epochs ≥ 1, batch ≥ 1, max tokens 2...512")
        }
        let started = Date()
        let modelURL = modelDirectory.appendingPathComponent("model.safetensors")
        let tokenizer = try WordPieceTokenizer(vocabulary: modelDirectory.appendingPathComponent("vocab.txt"))
        let base = try MiniLMWeights(file: SafeTensors(url: modelURL), config: baseConfig)
        guard cf.layers <= base.config.layers, cf.maxTokens <= base.config.maxPositions else {
            throw ModelError(.invalidInput, "fine-tuning: layers \(cf.layers) and max tokens \(cf.maxTokens) must fit the encoder's \(base.config.layers) layers and \(base.config.maxPositions) positions")
        }
        setBLASThreads(cf.threads)

        let goTrain = try GoEmotionsComment.load(data.goEmotionsTrain, limit: cf.limit)
        let goDev = try GoEmotionsComment.load(data.goEmotionsDev, limit: cf.limit)
        let seedTrain = Array(try LabelledTurn.load(data.seedTrain).prefix(cf.limit ?? .max))
        let seedVal = Array(try LabelledTurn.load(data.seedVal).prefix(cf.limit ?? .max))
        let train = FineTuneExample.goEmotions(goTrain, tokenizer: tokenizer, maxLength: cf.maxTokens)
            + FineTuneExample.seed(seedTrain, tokenizer: tokenizer, maxLength: cf.maxTokens, weight: cf.seedWeight)
        let dev = FineTuneExample.goEmotions(goDev, tokenizer: tokenizer, maxLength: cf.maxTokens)
        let seedValStripped = seedVal.map { tokenizer.encode(EmojiFeatures.strip($0.text), maxLength: cf.maxTokens) }
        log("fine-tuning: \(goTrain.count) GoEmotions + \(seedTrain.count) seed train rows; dev \(goDev.count) + seed val \(seedVal.count); layers \(cf.layers), rank \(cf.rank), alpha \(cf.alpha)")

        var dataFiles: [EncoderAdapterManifest.DataFile] = []
        for (role, url, rows) in [("goemotions_train", data.goEmotionsTrain, goTrain.count), ("goemotions_dev", data.goEmotionsDev, goDev.count),
                                  ("seed_train", data.seedTrain, seedTrain.count), ("seed_val", data.seedVal, seedVal.count)] {
            dataFiles.append(.init(role: role, path: url.path, sha256: try SHA256.hex(fileAt: url), rows: rows))
        }
        let baseSHA = try SHA256.hex(fileAt: modelURL)

        let model = MiniLMTrainingModel(base: base, rank: cf.rank, alpha: cf.alpha, trainedLayers: cf.layers,
                                        headOutputs: FineTuneHeads.outputs, seed: cf.seed)
        let layout = model.layout
        var optimizer = AdamW(count: layout.count)
        let groups = AdamW.groups(layout, adapterRate: cf.adapterLearningRate, headRate: cf.headLearningRate,
                                  decay: cf.weightDecay, biasesAndNorms: cf.trainBiasesAndNorms)

        var rng = SeededGenerator(seed: cf.seed &+ 1)
        let stepsPerEpoch = (train.count + cf.batchSize - 1) / cf.batchSize
        let totalSteps = stepsPerEpoch * cf.epochs
        let schedule = WarmupDecay(totalSteps: totalSteps, warmupFraction: cf.warmupFraction)

        let c = base.config.hidden, k = FineTuneHeads.outputs
        var pooled = [Float](repeating: 0, count: cf.batchSize * c)
        var logits = [Float](repeating: 0, count: cf.batchSize * k)
        var dlogits = logits, dpooled = pooled
        var epochs: [EncoderAdapterManifest.Epoch] = []
        var best = -Double.infinity
        var manifest: EncoderAdapterManifest?
        var step = 0

        for epoch in 1...cf.epochs {
            let epochStart = Date()
            let batches = lengthBucketedBatches(train, batchSize: cf.batchSize, stripProbability: cf.seedStripProbability, rng: &rng)
            var lossSum = 0.0, seen = 0
            var lastProgress = Date()
            for (bi, batch) in batches.enumerated() {
                let ids = batch.map(\.ids)
                let examples = batch.map(\.example)
                let b = batch.count
                model.zeroGradients()
                let loss = pooled.withUnsafeMutableBufferPointer { pp in
                    logits.withUnsafeMutableBufferPointer { lp in
                        dlogits.withUnsafeMutableBufferPointer { dlp in
                            dpooled.withUnsafeMutableBufferPointer { dpp in
                                let p = pp.baseAddress!, z = lp.baseAddress!, dz = dlp.baseAddress!, dp = dpp.baseAddress!
                                model.forward(ids, pooled: p)
                                headsForward(z, p, model, batch: b)
                                let loss = fineTuneLoss(z, examples, goEmotionsWeight: cf.goEmotionsLabelWeight, neutralWeight: cf.neutralWeight, dlogits: dz)
                                headsBackward(dp, dz, p, model, batch: b)
                                model.backward(dPooled: dp)
                                return loss
                            }
                        }
                    }
                }
                guard loss.isFinite else {
                    throw ModelError(.invalidInput, "fine-tuning diverged: loss \(loss) at epoch \(epoch) step \(bi + 1)")
                }
                if cf.gradientClip > 0 { clipGradients(model.grads, count: layout.count, maxNorm: cf.gradientClip) }
                optimizer.step(model.params, model.grads, groups: groups, factor: schedule.factor(step))
                step += 1
                lossSum += loss * Double(b)
                seen += b
                let now = Date()
                if now.timeIntervalSince(lastProgress) >= cf.progressInterval || bi == batches.count - 1 {
                    lastProgress = now
                    let elapsed = now.timeIntervalSince(epochStart)
                    let rate = Double(seen) / max(elapsed, 1e-9)
                    let remaining = Double(train.count - seen) / rate + Double((cf.epochs - epoch) * train.count) / rate
                    log(String(format: "epoch %d/%d  step %d/%d  loss %.4f  %.1f ex/s  ETA %@",
                               epoch, cf.epochs, step, totalSteps, lossSum / Double(seen), rate, Self.duration(remaining)))
                }
            }
            let trainSeconds = Date().timeIntervalSince(epochStart)
            let figures = evaluate(model, dev: dev, seedVal: seedValStripped, seedLabels: seedVal.map(\.emotion.index))
            let e = EncoderAdapterManifest.Epoch(
                epoch: epoch, seconds: Date().timeIntervalSince(epochStart), trainLoss: lossSum / Double(max(1, seen)),
                goEmotionsClassMacroF1: figures.classF1, goEmotionsSectorAccuracy: figures.sectorAccuracy,
                goEmotionsSectorAccuracyFromClass: figures.sectorFromClass, goEmotionsNeutralAUROC: figures.neutralAUROC,
                seedValMacroF1TextOnly: figures.seedF1, selection: (figures.classF1 + figures.sectorAccuracy + figures.neutralAUROC) / 3)
            epochs.append(e)
            log(String(format: "epoch %d: train %.0f s (%.1f ex/s), loss %.4f | dev class macro-F1 %.4f, sector acc %.4f (from class %.4f), neutral AUROC %.4f | seed val text-only macro-F1 %.4f | selection %.4f",
                       epoch, trainSeconds, Double(train.count) / trainSeconds, e.trainLoss, e.goEmotionsClassMacroF1,
                       e.goEmotionsSectorAccuracy, e.goEmotionsSectorAccuracyFromClass, e.goEmotionsNeutralAUROC,
                       e.seedValMacroF1TextOnly, e.selection))
            if e.selection > best {
                best = e.selection
                manifest = try save(model, to: output, epochs: epochs, bestEpoch: epoch, command: command, data: dataFiles,
                                    baseSHA: baseSHA, seconds: Date().timeIntervalSince(started))
                log("epoch \(epoch) is the best so far: wrote \(output.path)")
            } else if var m = manifest {
                // Keep the best epoch's weights; record the later epochs' figures.
                m.epochs = epochs
                m.trainingSeconds = Date().timeIntervalSince(started)
                try Self.writeManifest(m, to: output)
                manifest = m
            }
        }
        return manifest!
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }

    /// The dev figures of the model as it stands.
    struct Figures { var classF1, sectorAccuracy, sectorFromClass, neutralAUROC, seedF1: Double }

    func evaluate(_ model: MiniLMTrainingModel, dev: [FineTuneExample], seedVal: [[Int32]], seedLabels: [Int]) -> Figures {
        let k = FineTuneHeads.outputs
        let z = model.headLogits(dev.map(\.ids))
        func argmax(_ row: Int, _ range: Range<Int>) -> Int {
            var best = range.lowerBound
            for j in range where z[row * k + j] > z[row * k + best] { best = j }
            return best - range.lowerBound
        }
        // Class macro-F1 over the 16 mapped classes; predictions outside them are wrong.
        var predicted: [Int] = [], actual: [Int] = []
        var sectorHits = 0, sectorFromClassHits = 0, sectorRows = 0
        var neutralScores: [Float] = [], neutralLabels: [Bool] = []
        for (i, e) in dev.enumerated() {
            let cls = argmax(i, FineTuneHeads.emotion)
            if e.emotion >= 0 { predicted.append(cls); actual.append(e.emotion) }
            if e.sector >= 0 {
                sectorRows += 1
                if argmax(i, FineTuneHeads.sector) == e.sector { sectorHits += 1 }
                if PlutchikEmotion(index: cls).sector.rawValue == e.sector { sectorFromClassHits += 1 }
            }
            if e.neutral >= 0 { neutralScores.append(z[i * k + FineTuneHeads.neutral]); neutralLabels.append(e.neutral == 1) }
        }
        let counts = classCounts(predicted: predicted, actual: actual, classes: PlutchikEmotion.count)
        let scored = GoEmotionsComment.mappedClasses.map(\.index).filter { counts.seen[$0] }
        let classF1 = scored.isEmpty ? 0 : scored.map { Double(f1Score(tp: counts.tp[$0], fp: counts.fp[$0], fn: counts.fn[$0])) }.reduce(0, +) / Double(scored.count)
        let sz = model.headLogits(seedVal)
        let seedPredicted = seedVal.indices.map { i in
            var best = 0
            for j in FineTuneHeads.emotion where sz[i * k + j] > sz[i * k + best] { best = j }
            return best
        }
        return Figures(
            classF1: classF1,
            sectorAccuracy: sectorRows == 0 ? 0 : Double(sectorHits) / Double(sectorRows),
            sectorFromClass: sectorRows == 0 ? 0 : Double(sectorFromClassHits) / Double(sectorRows),
            neutralAUROC: Double(auroc(scores: neutralScores, labels: neutralLabels)),
            seedF1: seedVal.isEmpty ? 0 : Double(macroF1(predicted: seedPredicted, actual: seedLabels, classes: PlutchikEmotion.count)))
    }

    /// Writes the adapter, the heads and the manifest of the model as it stands.
    func save(_ model: MiniLMTrainingModel, to dir: URL, epochs: [EncoderAdapterManifest.Epoch], bestEpoch: Int,
              command: String, data: [EncoderAdapterManifest.DataFile], baseSHA: String, seconds: Double) throws -> EncoderAdapterManifest {
        let cf = configuration
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let adapterURL = dir.appendingPathComponent(EncoderAdapter.fileName)
        let headsURL = dir.appendingPathComponent(EncoderAdapter.headsFileName)
        try Self.adapterWriter(model, includeVectors: cf.trainBiasesAndNorms, half: cf.halfPrecisionAdapter).write(to: adapterURL)
        try Self.headsWriter(model).write(to: headsURL)
        let layout = model.layout
        let m = EncoderAdapterManifest(
            baseModel: "all-MiniLM-L6-v2", baseModelSHA256: baseSHA, rank: cf.rank, alpha: cf.alpha,
            layers: Array(layout.firstTrained..<model.cf.layers), trainsBiasesAndNorms: cf.trainBiasesAndNorms,
            adapterFile: EncoderAdapter.fileName, adapterSHA256: try SHA256.hex(fileAt: adapterURL),
            headsFile: EncoderAdapter.headsFileName, headsSHA256: try SHA256.hex(fileAt: headsURL),
            goEmotionsLabels: goEmotionsLabels, command: command, data: data, configuration: cf.summary,
            epochs: epochs, bestEpoch: bestEpoch, trainingSeconds: seconds,
            createdAt: ISO8601DateFormatter().string(from: Date()))
        try Self.writeManifest(m, to: dir)
        return m
    }

    static func writeManifest(_ m: EncoderAdapterManifest, to dir: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let url = dir.appendingPathComponent("manifest.json")
        do { try enc.encode(m).write(to: url, options: .atomic) } catch {
            throw ModelError(.invalidFile, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// The adapter tensors of the trained layers (see `EncoderAdapter`).
    static func adapterWriter(_ model: MiniLMTrainingModel, includeVectors: Bool, half: Bool) -> SafeTensorsWriter {
        let layout = model.layout, cf = model.cf, r = layout.rank
        var w = SafeTensorsWriter()
        w.metadata = ["format": EncoderAdapter.format, "rank": "\(r)", "alpha": "\(model.alpha)",
                      "layers": (layout.firstTrained..<cf.layers).map(String.init).joined(separator: ",")]
        for t in 0..<layout.trainedLayers {
            let l = layout.firstTrained + t
            if r > 0 {
                for target in LoRATarget.allCases {
                    let (o, i) = target.shape(cf)
                    w.add(target.name(layer: l) + ".lora_A", shape: [r, i],
                          UnsafeBufferPointer(start: model.params + layout.loraA[t][target.rawValue], count: r * i), dtype: half ? .f16 : .f32)
                    w.add(target.name(layer: l) + ".lora_B", shape: [o, r],
                          UnsafeBufferPointer(start: model.params + layout.loraB[t][target.rawValue], count: o * r), dtype: half ? .f16 : .f32)
                }
            }
            if includeVectors {
                for v in LayerVector.allCases {
                    let names = v.baseNames(layer: l), part = v.count(cf) / names.count
                    for (k, n) in names.enumerated() {
                        w.add(n, shape: [part], UnsafeBufferPointer(start: model.params + layout.vectors[t][v.rawValue] + k * part, count: part))
                    }
                }
            }
        }
        return w
    }

    /// The linear heads: `head.<name>.weight` (rows, C) and `.bias` (rows).
    static func headsWriter(_ model: MiniLMTrainingModel) -> SafeTensorsWriter {
        let layout = model.layout, c = model.cf.hidden
        var w = SafeTensorsWriter()
        w.metadata = ["format": "plutchik-finetune-heads-1", "emotion": "PlutchikEmotion order", "sector": "PlutchikSector order",
                      "goemotions": goEmotionsLabels.joined(separator: ",")]
        for (name, range) in [("emotion", FineTuneHeads.emotion), ("sector", FineTuneHeads.sector),
                              ("neutral", FineTuneHeads.neutral..<(FineTuneHeads.neutral + 1)), ("goemotions", FineTuneHeads.goEmotions)] {
            w.add("head.\(name).weight", shape: [range.count, c],
                  UnsafeBufferPointer(start: model.params + layout.headW + range.lowerBound * c, count: range.count * c))
            w.add("head.\(name).bias", shape: [range.count],
                  UnsafeBufferPointer(start: model.params + layout.headB + range.lowerBound, count: range.count))
        }
        return w
    }
}

// MARK: - Heads, batches, optimiser.

/// logits = pooled · Hᵀ + b.   (B, K)
func headsForward(_ logits: UnsafeMutablePointer<Float>, _ pooled: UnsafePointer<Float>, _ model: MiniLMTrainingModel, batch b: Int) {
    let l = model.layout
    matmulTransposed(logits, pooled, model.params + l.headW, model.params + l.headB, m: b, n: l.headOutputs, k: model.cf.hidden)
}

/// dH += dlogitsᵀ · pooled, db += Σ dlogits, dpooled = dlogits · H.
func headsBackward(_ dpooled: UnsafeMutablePointer<Float>, _ dlogits: UnsafePointer<Float>, _ pooled: UnsafePointer<Float>,
                   _ model: MiniLMTrainingModel, batch b: Int) {
    let l = model.layout, c = model.cf.hidden, k = l.headOutputs
    sgemm(model.grads + l.headW, ldc: c, dlogits, lda: k, transA: true, pooled, ldb: c, m: k, n: c, k: b, beta: 1)  // (K, C)
    addColumnSums(model.grads + l.headB, dlogits, rows: b, cols: k)
    sgemm(dpooled, ldc: c, dlogits, lda: k, model.params + l.headW, ldb: c, m: b, n: c, k: k)                    // (B, C)
}

/// One epoch's batches: examples shuffled, seed turns drawn emoji-stripped with
/// `stripProbability`, then sorted by length within chunks of 50 batches so each batch holds
/// similar lengths, and the batches shuffled.
func lengthBucketedBatches(_ examples: [FineTuneExample], batchSize: Int, stripProbability: Float,
                           rng: inout SeededGenerator) -> [[(ids: [Int32], example: FineTuneExample)]] {
    var order = Array(examples.indices)
    seededShuffle(&order, &rng)
    let shown: [(ids: [Int32], example: FineTuneExample)] = order.map { i in
        let e = examples[i]
        if let s = e.strippedIDs, rng.nextUnit() < stripProbability { return (s, e) }
        return (e.ids, e)
    }
    return bucketBatches(shown.map(\.ids.count), batchSize: batchSize, rng: &rng).map { $0.map { shown[$0] } }
}

/// Batches of positions into rows of the given lengths, in their order: sorted by length within
/// chunks of 50 batches, the batches shuffled.
func bucketBatches(_ lengths: [Int], batchSize: Int, rng: inout SeededGenerator) -> [[Int]] {
    var batches: [[Int]] = []
    let chunk = batchSize * 50
    var start = 0
    while start < lengths.count {
        let part = (start..<min(lengths.count, start + chunk)).sorted { lengths[$0] < lengths[$1] }
        var s = 0
        while s < part.count { batches.append(Array(part[s..<min(part.count, s + batchSize)])); s += batchSize }
        start += chunk
    }
    var bo = Array(batches.indices)
    seededShuffle(&bo, &rng)
    return bo.map { batches[$0] }
}

/// Scales the gradients down to global L2 norm `maxNorm` if above it.
func clipGradients(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) {
    var sq = 0.0
    for i in 0..<count { sq += Double(g[i]) * Double(g[i]) }
    let norm = Float(sq.squareRoot())
    guard norm > maxNorm else { return }
    let s = maxNorm / norm
    for i in 0..<count { g[i] *= s }
}

/// The learning-rate schedule: linear warm-up over the first `warmupFraction` of the steps
/// (at least one), then linear decay to 0 at the last.
struct WarmupDecay {
    let totalSteps: Int, warmup: Int

    init(totalSteps: Int, warmupFraction: Float) {
        self.totalSteps = totalSteps
        warmup = max(1, Int((warmupFraction * Float(totalSteps)).rounded(.up)))
    }

    /// The factor on the learning rates at `step` (from 0).
    func factor(_ step: Int) -> Float {
        step < warmup ? Float(step + 1) / Float(warmup) : max(0, Float(totalSteps - step) / Float(max(1, totalSteps - warmup)))
    }
}

/// AdamW (decoupled weight decay, bias-corrected moments) over a flat parameter block,
/// updated by ranges, each with its own learning rate and decay.
struct AdamW {
    /// The parameter groups of a training model: the LoRA matrices and the heads' weights with
    /// weight decay; the trained biases and layernorms (with `biasesAndNorms`) and the heads'
    /// biases without.
    static func groups(_ layout: TrainableLayout, adapterRate: Float, headRate: Float, decay: Float,
                       biasesAndNorms: Bool) -> [(Range<Int>, lr: Float, decay: Float)] {
        layout.loraRanges.map { ($0, adapterRate, decay) }
            + (biasesAndNorms ? layout.vectorRanges.map { ($0, adapterRate, 0) } : [])
            + [(layout.headW..<layout.headB, headRate, decay), (layout.headB..<layout.count, headRate, 0)]
    }

    var m: [Float], v: [Float], t = 0
    let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8

    init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = m
    }

    /// One step; each group's learning rate is multiplied by `factor` (the schedule).
    mutating func step(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                       groups: [(Range<Int>, lr: Float, decay: Float)], factor: Float) {
        t += 1
        let c1 = 1 - pow(beta1, Float(t)), c2 = 1 - pow(beta2, Float(t))
        let (b1, b2, eps) = (beta1, beta2, eps)
        m.withUnsafeMutableBufferPointer { mp in
            v.withUnsafeMutableBufferPointer { vp in
                for (range, lr0, decay) in groups {
                    let lr = lr0 * factor
                    for i in range {
                        mp[i] = b1 * mp[i] + (1 - b1) * g[i]
                        vp[i] = b2 * vp[i] + (1 - b2) * g[i] * g[i]
                        p[i] -= lr * ((mp[i] / c1) / ((vp[i] / c2).squareRoot() + eps) + decay * p[i])
                    }
                }
            }
        }
    }
}
