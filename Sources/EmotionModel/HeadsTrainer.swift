import Foundation

/// How the heads are trained.
public struct HeadsTrainingConfiguration: Sendable {
    public var seed: UInt64 = 42
    public var hidden = 128
    public var maxEpochs = 150
    /// Stop after this many epochs without a better validation score.
    public var patience = 25
    public var batchSize = 64
    public var learningRate: Float = 1e-3
    public var weightDecay: Float = 1e-4
    /// Dropout on the hidden layer.
    public var dropout: Float = 0.5
    /// The chance a training example is shown as its emoji-stripped variant (text and context
    /// both stripped), so one model serves text with and without emoji.
    public var textOnlyProbability: Float = 0.3
    /// Class weights are (mean count / class count)^power.
    public var classWeightPower: Float = 1
    /// Emoji seen fewer times in training are left out of the vocabulary.
    public var emojiMinCount = 2
    public var sarcasmWeight: Float = 0.5
    public var intensityWeight: Float = 0.5
    /// The factor unit-length embeddings are multiplied by in the input vector.
    public var embeddingScale: Float = 0.5

    public init() {}

    var summary: [String: String] {
        ["seed": "\(seed)", "hidden": "\(hidden)", "max_epochs": "\(maxEpochs)", "patience": "\(patience)",
         "batch_size": "\(batchSize)", "learning_rate": "\(learningRate)", "weight_decay": "\(weightDecay)",
         "dropout": "\(dropout)", "text_only_probability": "\(textOnlyProbability)",
         "class_weight_power": "\(classWeightPower)", "emoji_min_count": "\(emojiMinCount)",
         "sarcasm_weight": "\(sarcasmWeight)", "intensity_weight": "\(intensityWeight)", "embedding_scale": "\(embeddingScale)",
         "selection": "mean of val emotion macro-F1 and text-only macro-F1"]
    }
}

/// Labelled turns in dialogue order with their embeddings, as given and with emoji stripped.
public struct HeadsTrainingData: Sendable {
    public var turns: [LabelledTurn]
    public var embeddings: [[Float]]
    public var textOnlyEmbeddings: [[Float]]

    public init(turns: [LabelledTurn], embeddings: [[Float]], textOnlyEmbeddings: [[Float]]) {
        precondition(turns.count == embeddings.count && turns.count == textOnlyEmbeddings.count)
        self.turns = turns; self.embeddings = embeddings; self.textOnlyEmbeddings = textOnlyEmbeddings
    }
}

/// Who the trained heads are, for the manifest.
public struct HeadsProvenance: Sendable {
    public var version: String
    public var trainingDataSHA256: String
    public var validationDataSHA256: String
    public var encoderSHA256: String

    public init(version: String, trainingDataSHA256: String, validationDataSHA256: String, encoderSHA256: String) {
        self.version = version; self.trainingDataSHA256 = trainingDataSHA256
        self.validationDataSHA256 = validationDataSHA256; self.encoderSHA256 = encoderSHA256
    }
}

/// Trains the heads with Adam(W) on hand-derived gradients, early-stopping on validation macro-F1.
public enum HeadsTrainer {
    /// Trains on `train`, selects the epoch by `val`, and returns the heads at that epoch.
    /// `progress` receives one line per epoch.
    public static func train(train: HeadsTrainingData, val: HeadsTrainingData, provenance: HeadsProvenance,
                             configuration cf: HeadsTrainingConfiguration = .init(),
                             progress: (String) -> Void = { _ in }) -> EmotionHeads {
        var rng = SeededGenerator(seed: cf.seed)
        let vocabulary = EmojiVocabulary(texts: train.turns.map(\.text), minCount: cf.emojiMinCount)
        let builder = HeadsFeatureBuilder(embeddingDimension: train.embeddings.first?.count ?? 384, vocabulary: vocabulary,
                                          embeddingScale: cf.embeddingScale)
        let d = builder.count, n = train.turns.count
        let xTrain = features(train, builder: builder, textOnly: false), xTrainText = features(train, builder: builder, textOnly: true)
        let xVal = features(val, builder: builder, textOnly: false), xValText = features(val, builder: builder, textOnly: true)
        let targets = train.turns.map {
            HeadsTarget(label: $0.emotion.index, sarcasm: $0.sarcasm ? 1 : 0, intensity: $0.emotion.intensity)
        }

        var loss = HeadsLoss(sarcasmWeight: cf.sarcasmWeight, intensityWeight: cf.intensityWeight)
        var counts = [Float](repeating: 0, count: PlutchikEmotion.count)
        for t in targets { counts[t.label] += 1 }
        let meanCount = Float(n) / Float(PlutchikEmotion.count)
        loss.classWeights = counts.map { pow(meanCount / max($0, 1), cf.classWeightPower) }
        let positives = targets.filter { $0.sarcasm > 0.5 }.count
        loss.sarcasmPositiveWeight = positives > 0 ? (Float(n - positives) / Float(positives)).squareRoot() : 1

        var net = HeadsNetwork(inputs: d, hidden: cf.hidden, rng: &rng)
        var adam = AdamState(net)
        var best = net, bestScore = -Float.infinity, bestEpoch = 0, bestReport = EvaluationReport(n: val.turns.count)
        var order = Array(0..<n)
        let keep = 1 - cf.dropout
        for epoch in 1...cf.maxEpochs {
            seededShuffle(&order, &rng)
            var epochLoss: Float = 0
            for start in stride(from: 0, to: n, by: cf.batchSize) {
                let rows = Array(order[start..<min(n, start + cf.batchSize)])
                let b = rows.count
                var x = [Float](repeating: 0, count: b * d)
                for (r, i) in rows.enumerated() {
                    let source = rng.nextUnit() < cf.textOnlyProbability ? xTrainText : xTrain
                    x.replaceSubrange((r * d)..<((r + 1) * d), with: source[(i * d)..<((i + 1) * d)])
                }
                let mask = (0..<(b * cf.hidden)).map { _ in rng.nextUnit() < keep ? 1 / keep : 0 }
                let (h, z) = net.forward(x, batch: b, dropoutMask: mask)
                let (l, dz) = loss.evaluate(z: z, targets: rows.map { targets[$0] })
                epochLoss += l * Float(b)
                let grad = net.backward(x: x, h: h, dz: dz, batch: b, dropoutMask: mask)
                adam.step(&net, grad, learningRate: cf.learningRate, weightDecay: cf.weightDecay)
            }
            let report = evaluate(net, x: xVal, xText: xValText, data: val)
            let score = ((report.emotionMacroF1 ?? 0) + (report.emotionMacroF1TextOnly ?? 0)) / 2
            progress(String(format: "epoch %3d  loss %.4f  val macro-F1 %.3f  text-only %.3f  sarcasm F1 %.3f%@",
                            epoch, epochLoss / Float(n), report.emotionMacroF1 ?? 0, report.emotionMacroF1TextOnly ?? 0,
                            report.sarcasmF1 ?? 0, score > bestScore ? "  *" : ""))
            if score > bestScore {
                bestScore = score; best = net; bestEpoch = epoch; bestReport = report
            } else if epoch - bestEpoch >= cf.patience {
                break
            }
        }
        let manifest = HeadsManifest(
            version: provenance.version, created: EmotionEvent.timestamp(Date()), seed: cf.seed,
            trainingDataSHA256: provenance.trainingDataSHA256, validationDataSHA256: provenance.validationDataSHA256,
            encoderSHA256: provenance.encoderSHA256, embeddingDimension: builder.embeddingDimension,
            embeddingScale: cf.embeddingScale,
            hidden: cf.hidden, inputs: d, emojiVocabulary: vocabulary, weightsFile: "heads.f32",
            weightsSHA256: SHA256.hex(EmotionHeads.weightData(best)), bestEpoch: bestEpoch,
            validation: bestReport, training: cf.summary)
        return EmotionHeads(manifest: manifest, network: best, builder: builder)
    }

    /// The feature matrix (N, D) of a data set, built turn by turn with dialogue context.
    static func features(_ data: HeadsTrainingData, builder: HeadsFeatureBuilder, textOnly: Bool) -> [Float] {
        let d = builder.count
        var x = [Float](repeating: 0, count: data.turns.count * d)
        var contexts: [String: DialogueContext] = [:]
        for (i, t) in data.turns.enumerated() {
            let e = textOnly ? data.textOnlyEmbeddings[i] : data.embeddings[i]
            let emoji = textOnly ? .none(vocabulary: builder.vocabulary) : EmojiFeatures(text: t.text, vocabulary: builder.vocabulary)
            var ctx = contexts[t.dialogueID] ?? DialogueContext()
            var slice = x[(i * d)..<((i + 1) * d)]
            builder.write(into: &slice, embedding: e, emoji: emoji, context: ctx, speaker: t.speaker)
            x.replaceSubrange((i * d)..<((i + 1) * d), with: slice)
            ctx.append(embedding: e, speaker: t.speaker, emoji: emoji)
            contexts[t.dialogueID] = ctx
        }
        return x
    }

    static func evaluate(_ net: HeadsNetwork, x: [Float], xText: [Float], data: HeadsTrainingData) -> EvaluationReport {
        let n = data.turns.count
        let p = EmotionHeads.predictions(logits: net.forward(x, batch: n).z, batch: n)
        let pt = EmotionHeads.predictions(logits: net.forward(xText, batch: n).z, batch: n)
        return .emotion(predictions: p, textOnly: pt, labels: data.turns.map(\.emotion), sarcasm: data.turns.map(\.sarcasm))
    }
}

/// Adam moments for every parameter of a `HeadsNetwork` (decoupled weight decay on the matrices).
struct AdamState {
    var m: HeadsNetwork, v: HeadsNetwork, t = 0
    let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8

    init(_ net: HeadsNetwork) {
        let zero = HeadsNetwork(inputs: net.inputs, hidden: net.hidden,
                                w1: .init(repeating: 0, count: net.w1.count), b1: .init(repeating: 0, count: net.b1.count),
                                w2: .init(repeating: 0, count: net.w2.count), b2: .init(repeating: 0, count: net.b2.count))
        m = zero; v = zero
    }

    mutating func step(_ net: inout HeadsNetwork, _ g: HeadsNetwork, learningRate lr: Float, weightDecay: Float) {
        t += 1
        let c1 = 1 - pow(beta1, Float(t)), c2 = 1 - pow(beta2, Float(t))
        func update(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], decay: Float) {
            for i in p.indices {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                p[i] -= lr * ((m[i] / c1) / ((v[i] / c2).squareRoot() + eps) + decay * p[i])
            }
        }
        update(&net.w1, g.w1, &m.w1, &v.w1, decay: weightDecay)
        update(&net.b1, g.b1, &m.b1, &v.b1, decay: 0)
        update(&net.w2, g.w2, &m.w2, &v.w2, decay: weightDecay)
        update(&net.b2, g.b2, &m.b2, &v.b2, decay: 0)
    }
}
