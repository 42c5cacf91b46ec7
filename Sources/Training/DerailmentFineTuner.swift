import Contracts
import Encoder
import Escalation
import Foundation
import Kernels
import Tokenizer

/// How `DerailmentFineTuner` trains: LoRA on the encoder's top layers, over the emotion adapter
/// already merged into the weights, with one logit on the mean-pooled vector.
public struct DerailmentFineTuningConfiguration: Sendable {
    /// Trained layers, counted from the top.
    public var layers = 2
    public var rank = 8
    public var alpha: Float = 16
    public var epochs = 4
    public var batchSize = 16
    /// Longest token sequence, [CLS] and [SEP] included.
    public var maxTokens = 128
    /// Earlier comments shown before the judged one (their last tokens, at most half of `maxTokens`).
    public var contextTurns = 0
    /// Every comment is a training example (labelled with its conversation's outcome, with this
    /// weight); 0: only the last comment, the forecast point.
    public var earlierWeight: Float = 0
    public var adapterLearningRate: Float = 5e-4
    public var headLearningRate: Float = 1e-3
    public var weightDecay: Float = 0.01
    public var warmupFraction: Float = 0.06
    public var gradientClip: Float = 1
    public var folds = 5
    public var seed: UInt64 = 42
    public var threads = 2

    public init() {}
}

/// Cross-validated fine-tuning for derailment: for each fold (FNV-1a of "escalation-cv:" + the
/// conversation id, the forecaster's folds), an adapter and a logit trained on the other folds
/// score the fold's last comments after every epoch. Reports out-of-fold AUROC per epoch.
public struct DerailmentFineTuner {
    public let configuration: DerailmentFineTuningConfiguration
    let base: MiniLMWeights
    let tokenizer: WordPieceTokenizer

    /// One out-of-fold figure per epoch.
    public struct Epoch: Sendable, Codable {
        public var epoch: Int
        /// Out-of-fold AUROC and accuracy (at 0.5) of the last comment's probability.
        public var auroc: Double
        public var accuracy: Double
        /// Out-of-fold AUROC of the mean probability over the conversation's comments.
        public var aurocMean: Double
        public var trainLoss: Double
    }

    /// `modelDirectory` holds `model.safetensors` and `vocab.txt`; `adapter` (the emotion
    /// adapter) is merged into the weights first. `config` is the checkpoint's shape.
    public init(modelDirectory: URL, adapter: URL?, configuration: DerailmentFineTuningConfiguration) throws {
        try self.init(modelDirectory: modelDirectory, adapter: adapter, configuration: configuration, config: .allMiniLML6)
    }

    init(modelDirectory: URL, adapter: URL?, configuration: DerailmentFineTuningConfiguration, config: MiniLMConfig) throws {
        self.configuration = configuration
        tokenizer = try WordPieceTokenizer(vocabulary: modelDirectory.appendingPathComponent("vocab.txt"))
        base = try MiniLMWeights(file: SafeTensors(url: modelDirectory.appendingPathComponent("model.safetensors")),
                                 config: config, adapter: adapter.map { try EncoderAdapter(url: $0) })
        guard (1...config.layers).contains(configuration.layers), configuration.folds >= 2, configuration.epochs >= 1 else {
            throw ModelError(.invalidInput, "derailment fine-tuning: layers must be 1...\(config.layers), folds ≥ 2, epochs ≥ 1")
        }
    }

    struct Example { var ids: [Int32]; var label: Bool; var weight: Float; var conversation: Int; var judged: Bool }

    /// The examples of the conversations: the last comment (judged) and, with `earlierWeight`, the others.
    func examples(_ turns: [CorpusTurn]) -> (examples: [Example], ids: [String]) {
        let cf = configuration
        var ids: [String] = [], out: [Example] = []
        var start = 0
        while start < turns.count {
            var end = start
            while end < turns.count, turns[end].dialogueID == turns[start].dialogueID { end += 1 }
            let conversation = ids.count
            ids.append(turns[start].dialogueID)
            for i in start..<end {
                let judged = i == end - 1
                guard let label = turns[i].derails else { continue }
                out.append(Example(ids: encode(turns[max(start, i - cf.contextTurns)..<i].map(\.text), turns[i].text),
                                   label: label, weight: judged ? 1 : cf.earlierWeight, conversation: conversation, judged: judged))
            }
            start = end
        }
        return (out, ids)
    }

    /// [CLS] context tokens (their tail, ≤ half the budget) [SEP] comment tokens [SEP].
    func encode(_ context: [String], _ text: String) -> [Int32] {
        let m = configuration.maxTokens
        let own = tokenizer.encode(text, maxLength: m)
        guard !context.isEmpty else { return own }
        let ctx = tokenizer.encode(context.joined(separator: " "), maxLength: 4 * m)
        let keep = min(ctx.count - 2, max(0, m / 2 - 1), m - own.count)
        guard keep > 0 else { return own }
        return [own[0]] + ctx[(ctx.count - 1 - keep)..<(ctx.count - 1)] + [own.last!] + own[1...]
    }

    /// Runs the cross-validation; returns the out-of-fold figures of every epoch and the
    /// out-of-fold scores (probability per conversation) of the last epoch.
    public func crossValidate(_ turns: [CorpusTurn], log: (String) -> Void = { _ in }) -> (epochs: [Epoch], scores: [String: Float]) {
        let cf = configuration
        setBLASThreads(cf.threads)
        let (all, ids) = examples(turns)
        let fold = ids.map { EscalationTrainer.crossValidationFold($0, folds: cf.folds) }
        var scores = [[Float]](repeating: [Float](repeating: .nan, count: ids.count), count: cf.epochs)
        var labels = [Bool](repeating: false, count: ids.count)
        var losses = [Double](repeating: 0, count: cf.epochs)
        var sums = [[Float]](repeating: [Float](repeating: 0, count: ids.count), count: cf.epochs)
        var counts = [Float](repeating: 0, count: ids.count)
        for e in all where e.judged { labels[e.conversation] = e.label }
        for k in 0..<cf.folds {
            let train = all.filter { fold[$0.conversation] != k && ($0.judged || cf.earlierWeight > 0) }
            let held = all.filter { fold[$0.conversation] == k }
            let started = Date()
            let model = MiniLMTrainingModel(base: base, rank: cf.rank, alpha: cf.alpha, trainedLayers: cf.layers,
                                            headOutputs: 1, seed: cf.seed &+ UInt64(k))
            self.train(model, train, epochs: cf.epochs) { epoch, loss in
                let p = model.headLogits(held.map(\.ids)).map { 1 / (1 + exp(-$0)) }
                for (j, e) in held.enumerated() {
                    if e.judged { scores[epoch - 1][e.conversation] = p[j] }
                    sums[epoch - 1][e.conversation] += p[j]
                    counts[e.conversation] += epoch == 1 ? 1 : 0
                }
                losses[epoch - 1] += loss / Double(cf.folds)
                let last = held.indices.filter { held[$0].judged }
                log(String(format: "fold %d/%d epoch %d: loss %.4f, fold AUROC %.4f (%.0f s)", k + 1, cf.folds, epoch, loss,
                           Double(auroc(scores: last.map { p[$0] }, labels: last.map { held[$0].label })), Date().timeIntervalSince(started)))
            }
        }
        let epochs = (0..<cf.epochs).map { e in
            let s = scores[e]
            let acc = zip(s, labels).filter { ($0 >= 0.5) == $1 }.count
            let mean = zip(sums[e], counts).map { $0 / max($1, 1) }
            return Epoch(epoch: e + 1, auroc: Double(auroc(scores: s, labels: labels)),
                         accuracy: Double(acc) / Double(max(1, s.count)), aurocMean: Double(auroc(scores: mean, labels: labels)),
                         trainLoss: losses[e])
        }
        return (epochs, Dictionary(uniqueKeysWithValues: zip(ids, scores[cf.epochs - 1])))
    }

    /// AdamW with linear warm-up and decay over `epochs`; `after(epoch, mean loss)` after each.
    func train(_ model: MiniLMTrainingModel, _ examples: [Example], epochs: Int, after: (Int, Double) -> Void) {
        let cf = configuration
        let layout = model.layout
        var optimizer = AdamW(count: layout.count)
        let groups = AdamW.groups(layout, adapterRate: cf.adapterLearningRate, headRate: cf.headLearningRate,
                                  decay: cf.weightDecay, biasesAndNorms: true)
        var rng = SeededGenerator(seed: cf.seed &+ 7)
        let schedule = WarmupDecay(totalSteps: epochs * ((examples.count + cf.batchSize - 1) / cf.batchSize), warmupFraction: cf.warmupFraction)
        var step = 0
        let c = model.cf.hidden
        var pooled = [Float](repeating: 0, count: cf.batchSize * c), dpooled = pooled
        var logits = [Float](repeating: 0, count: cf.batchSize), dlogits = logits
        for epoch in 1...epochs {
            var lossSum = 0.0, weightSum = 0.0
            for batch in lengthBuckets(examples.map(\.ids.count), batchSize: cf.batchSize, rng: &rng) {
                model.zeroGradients()
                let b = batch.count
                var loss = 0.0
                pooled.withUnsafeMutableBufferPointer { pp in
                    logits.withUnsafeMutableBufferPointer { zp in
                        dlogits.withUnsafeMutableBufferPointer { dzp in
                            dpooled.withUnsafeMutableBufferPointer { dpp in
                                model.forward(batch.map { examples[$0].ids }, pooled: pp.baseAddress!)
                                headsForward(zp.baseAddress!, pp.baseAddress!, model, batch: b)
                                for (r, i) in batch.enumerated() {
                                    let z = zp[r], y: Float = examples[i].label ? 1 : 0, w = examples[i].weight / Float(b)
                                    dzp[r] = w * (1 / (1 + exp(-z)) - y)
                                    loss += Double(w) * (Double(max(z, 0)) + log1p(exp(-Double(abs(z)))) - Double(y * z))
                                }
                                headsBackward(dpp.baseAddress!, dzp.baseAddress!, pp.baseAddress!, model, batch: b)
                                model.backward(dPooled: dpp.baseAddress!)
                            }
                        }
                    }
                }
                if cf.gradientClip > 0 { clipGradients(model.grads, count: layout.count, maxNorm: cf.gradientClip) }
                optimizer.step(model.params, model.grads, groups: groups, factor: schedule.factor(step))
                step += 1
                lossSum += loss * Double(b)
                weightSum += Double(batch.reduce(Float(0)) { $0 + examples[$1].weight })
            }
            after(epoch, lossSum / max(weightSum, 1e-9))
        }
    }
}

/// Batches of indices into rows of the given lengths: shuffled, then `bucketBatches`.
func lengthBuckets(_ lengths: [Int], batchSize: Int, rng: inout SeededGenerator) -> [[Int]] {
    var order = Array(lengths.indices)
    seededShuffle(&order, &rng)
    return bucketBatches(order.map { lengths[$0] }, batchSize: batchSize, rng: &rng).map { $0.map { order[$0] } }
}
