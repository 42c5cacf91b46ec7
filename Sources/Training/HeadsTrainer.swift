import Foundation
import Contracts
import Emotion
import Escalation

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
    /// Encoder layers whose mean-pooled hidden states are features of the current turn (the
    /// training data must carry them); standardised on the training set, times `layerFeatureScale`
    /// (the standardisation is folded into the saved first layer).
    ///
    /// Layers 2–5 on val (seed 42): scale 0.5 → macro-F1 0.453 / text-only 0.399; 0.05 → 0.691 / 0.431;
    /// 0.02 → 0.754 / 0.425; 0.01 → 0.777 / 0.409 (heads-1 without: 0.819 / 0.363). Text-only gains,
    /// the emoji-driven figure loses: not adopted in the committed heads.
    public var encoderLayers: [Int] = []
    public var layerFeatureScale: Float = 0.5
    /// The chance a training example's layer features are all dropped (set to the training mean),
    /// so the heads keep learning from the embedding and the emoji alone.
    public var layerDropout: Float = 0
    /// Epochs are scored by w·macro-F1 + (1 − w)·text-only macro-F1 on val; a member that will
    /// only see emoji-stripped turns is selected on text-only alone (w = 0).
    public var selectionWeight: Float = 0.5
    /// The val turns epochs are scored on. `.withEmoji` is for a member that serves only turns with
    /// emoji (`--route --specialise emoji`): its epoch is the one with the best macro-F1 on those
    /// turns as given (`selectionWeight` is then unused). heads-5 on val, seeds 42 / 142 / 242:
    /// 0.844 / 0.833 / 0.836 against 0.835 / 0.834 / 0.831 when selected on all val turns.
    public var selectionTurns: HeadsSelectionTurns = .all
    /// Real comments (`HeadsTrainingData.comments`, GoEmotions) drawn into each epoch beside every
    /// training turn, cycling through all of them over the epochs; nil: as many as there are turns × 4.
    public var commentsPerEpoch: Int?
    /// The comments' share of the training loss (the turns have the rest), so that neither source
    /// swamps the other whatever their sizes; 0 trains on the turns alone.
    public var commentShare: Float = 0.5
    /// Class weights within the comments are (mean count / class count)^power over their classes.
    public var commentClassWeightPower: Float = 0.5
    /// The weight of the neutral gate's loss.
    public var neutralWeight: Float = 1
    /// Epochs are scored by (1 − s)·(the turns' score) + s·(the comments' score: the mean of class
    /// macro-F1, sector accuracy and neutral AUROC on the val comments), when val has comments.
    public var commentSelectionShare: Float = 0.5
    /// Train exactly this many epochs and keep the last, without scoring epochs on val (as a refit
    /// on train + val must: `plutchik train --refit`). `nil`: early stopping.
    public var fixedEpochs: Int?

    public init() {}

    var summary: [String: String] {
        ["seed": "\(seed)", "hidden": "\(hidden)", "max_epochs": "\(maxEpochs)", "patience": "\(patience)",
         "batch_size": "\(batchSize)", "learning_rate": "\(learningRate)", "weight_decay": "\(weightDecay)",
         "dropout": "\(dropout)", "text_only_probability": "\(textOnlyProbability)",
         "class_weight_power": "\(classWeightPower)", "emoji_min_count": "\(emojiMinCount)",
         "sarcasm_weight": "\(sarcasmWeight)", "intensity_weight": "\(intensityWeight)", "embedding_scale": "\(embeddingScale)",
         "encoder_layers": "\(encoderLayers)", "layer_feature_scale": "\(layerFeatureScale)",
         "layer_dropout": "\(layerDropout)",
         "comments_per_epoch": commentsPerEpoch.map { "\($0)" } ?? "4 × turns", "comment_share": "\(commentShare)",
         "comment_class_weight_power": "\(commentClassWeightPower)", "neutral_weight": "\(neutralWeight)",
         "comment_selection_share": "\(commentSelectionShare)",
         "selection": selectionTurns == .withEmoji ? "val emotion macro-F1 on the turns with emoji"
             : "\(selectionWeight) × val emotion macro-F1 + \(1 - selectionWeight) × text-only macro-F1"]
    }
}

/// Which val turns score a training epoch (`HeadsTrainingConfiguration.selectionTurns`).
public enum HeadsSelectionTurns: Sendable {
    /// Every turn, as given and emoji-stripped.
    case all
    /// The turns with emoji, as given.
    case withEmoji
}

/// Labelled turns in dialogue order with their embeddings, as given and with emoji stripped.
public struct HeadsTrainingData: Sendable {
    public var turns: [LabelledTurn]
    public var embeddings: [[Float]]
    public var textOnlyEmbeddings: [[Float]]
    /// Per turn, the encoder layer features (empty without).
    public var layerFeatures: [[Float]]
    public var textOnlyLayerFeatures: [[Float]]
    /// Real single comments (GoEmotions) with their embeddings and layer features, trained beside
    /// the turns (train) or scored beside them (val); each is a dialogue of its own.
    public var comments: [GoEmotionsComment] = []
    public var commentEmbeddings: [[Float]] = []
    public var commentLayerFeatures: [[Float]] = []

    public init(turns: [LabelledTurn], embeddings: [[Float]], textOnlyEmbeddings: [[Float]],
                layerFeatures: [[Float]]? = nil, textOnlyLayerFeatures: [[Float]]? = nil) {
        precondition(turns.count == embeddings.count && turns.count == textOnlyEmbeddings.count)
        self.turns = turns; self.embeddings = embeddings; self.textOnlyEmbeddings = textOnlyEmbeddings
        self.layerFeatures = layerFeatures ?? .init(repeating: [], count: turns.count)
        self.textOnlyLayerFeatures = textOnlyLayerFeatures ?? .init(repeating: [], count: turns.count)
        precondition(self.layerFeatures.count == turns.count && self.textOnlyLayerFeatures.count == turns.count)
    }
}

extension HeadsTrainingData {
    /// The same data with `comments` (and their embeddings and layer features, empty without) added.
    public func adding(comments: [GoEmotionsComment], embeddings: [[Float]], layerFeatures: [[Float]]? = nil) -> HeadsTrainingData {
        precondition(comments.count == embeddings.count && (layerFeatures?.count ?? comments.count) == comments.count)
        var d = self
        d.comments += comments
        d.commentEmbeddings += embeddings
        d.commentLayerFeatures += layerFeatures ?? .init(repeating: [], count: comments.count)
        return d
    }

    /// Both data sets' turns and comments, `self`'s first (dialogue ids must not repeat across the two).
    public func appending(_ other: HeadsTrainingData) -> HeadsTrainingData {
        precondition(Set(turns.map(\.dialogueID)).isDisjoint(with: other.turns.map(\.dialogueID)),
                     "appended data shares dialogue ids: their turns would join one dialogue")
        return HeadsTrainingData(turns: turns + other.turns, embeddings: embeddings + other.embeddings,
                          textOnlyEmbeddings: textOnlyEmbeddings + other.textOnlyEmbeddings,
                          layerFeatures: layerFeatures + other.layerFeatures, textOnlyLayerFeatures: textOnlyLayerFeatures + other.textOnlyLayerFeatures)
            .adding(comments: comments + other.comments, embeddings: commentEmbeddings + other.commentEmbeddings,
                    layerFeatures: commentLayerFeatures + other.commentLayerFeatures)
    }

    /// The turns at `indices`, in that order (without the comments).
    public func subset(_ indices: [Int]) -> HeadsTrainingData {
        HeadsTrainingData(turns: indices.map { turns[$0] }, embeddings: indices.map { embeddings[$0] },
                          textOnlyEmbeddings: indices.map { textOnlyEmbeddings[$0] }, layerFeatures: indices.map { layerFeatures[$0] },
                          textOnlyLayerFeatures: indices.map { textOnlyLayerFeatures[$0] })
    }

    /// Each turn's fold of `folds`: whole dialogues, by a hash of their id.
    public func fold(_ folds: Int) -> [Int] {
        turns.map { Int(EscalationRandom.fnv1a($0.dialogueID) % UInt64(folds)) }
    }

    /// The heads' predictions of these turns in dialogue order with context, as given and emoji-stripped
    /// (the layer features are read if the heads have them).
    func predictions(by heads: EmotionHeads) -> (full: [EmotionPrediction], textOnly: [EmotionPrediction]) {
        let layers = heads.builder.layerDimension > 0
        return (heads.predictDialogues(turns.map { ($0.dialogueID, $0.speaker, $0.text) },
                                       embeddings: turns.indices.map { embeddings[$0] + (layers ? layerFeatures[$0] : []) }),
                heads.predictDialogues(turns.map { ($0.dialogueID, $0.speaker, EmojiFeatures.strip($0.text)) },
                                       embeddings: turns.indices.map { textOnlyEmbeddings[$0] + (layers ? textOnlyLayerFeatures[$0] : []) }))
    }
}

extension HeadsTrainer {
    /// An honest val estimate for heads refit on train + val: val's dialogues are split into
    /// `folds` groups (`HeadsTrainingData.fold`); for each, `fit` trains on train + the other groups
    /// and predicts the group's turns, as given and emoji-stripped. The pooled predictions are
    /// scored as one report over all of val.
    public static func crossValidatedRefit(train: HeadsTrainingData, val: HeadsTrainingData, folds: Int,
                                           fit: (HeadsTrainingData) -> EmotionHeads,
                                           progress: (String) -> Void = { _ in }) -> EvaluationReport {
        precondition(folds >= 2)
        let fold = val.fold(folds)
        var full = [EmotionPrediction?](repeating: nil, count: val.turns.count), textOnly = full
        for k in 0..<folds {
            let held = fold.indices.filter { fold[$0] == k }
            guard !held.isEmpty else { continue }
            let heads = fit(train.appending(val.subset(fold.indices.filter { fold[$0] != k })))
            let p = val.subset(held).predictions(by: heads)
            for (j, i) in held.enumerated() { full[i] = p.full[j]; textOnly[i] = p.textOnly[j] }
            progress("refit cross-validation fold \(k + 1)/\(folds): \(held.count) val turns held out")
        }
        return .emotion(predictions: full.map { $0! }, textOnly: textOnly.map { $0! }, labels: val.turns.map(\.emotion),
                        sarcasm: val.turns.map(\.sarcasm))
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
        let e = train.embeddings.first?.count ?? 384
        let builder = HeadsFeatureBuilder(embeddingDimension: e, vocabulary: vocabulary,
                                          embeddingScale: cf.embeddingScale, layerDimension: cf.encoderLayers.count * e)
        let d = builder.count, n = train.turns.count
        let m = cf.commentShare > 0 ? train.comments.count : 0
        var xTrain = features(train, builder: builder, textOnly: false), xTrainText = features(train, builder: builder, textOnly: true)
        var xComments = m > 0 ? commentFeatures(train, builder: builder) : []
        var xVal = features(val, builder: builder, textOnly: false), xValText = features(val, builder: builder, textOnly: true)
        var xValComments = commentFeatures(val, builder: builder)
        // Layer features: standardised with the training rows' mean and deviation, then scaled.
        let layerRange = e..<(e + builder.layerDimension)
        var mu = [Float](repeating: 0, count: builder.layerDimension), sd = [Float](repeating: 1, count: builder.layerDimension)
        if !layerRange.isEmpty {
            for (k, j) in layerRange.enumerated() {
                var s: Double = 0, s2: Double = 0
                for r in 0..<n { let v = Double(xTrain[r * d + j]); s += v; s2 += v * v }
                for r in 0..<m { let v = Double(xComments[r * d + j]); s += v; s2 += v * v }
                let mean = s / Double(n + m)
                mu[k] = Float(mean); sd[k] = Float(max((s2 / Double(n + m) - mean * mean).squareRoot(), 1e-6))
            }
            func standardise(_ x: inout [Float]) {
                for r in 0..<(x.count / d) { for (q, j) in layerRange.enumerated() { x[r * d + j] = (x[r * d + j] - mu[q]) / sd[q] * cf.layerFeatureScale } }
            }
            standardise(&xTrain); standardise(&xTrainText); standardise(&xComments)
            standardise(&xVal); standardise(&xValText); standardise(&xValComments)
        }
        // Targets: turns carry class, sarcasm, intensity and "not neutral"; comments their class, or
        // only their sector, their class's intensity, and the neutral gate. Each source's examples
        // weigh so that the comments have `commentShare` of the loss.
        let perEpoch = m > 0 ? min(m, cf.commentsPerEpoch ?? 4 * n) : 0
        let turnWeight = perEpoch > 0 ? (1 - cf.commentShare) * Float(n + perEpoch) / Float(n) : 1
        let commentWeight = perEpoch > 0 ? cf.commentShare * Float(n + perEpoch) / Float(perEpoch) : 0
        var counts = [Float](repeating: 0, count: PlutchikEmotion.count)
        for t in train.turns { counts[t.emotion.index] += 1 }
        let meanCount = Float(n) / Float(PlutchikEmotion.count)
        let turnClassWeights = counts.map { pow(meanCount / max($0, 1), cf.classWeightPower) }
        var commentCounts = [Float](repeating: 0, count: PlutchikEmotion.count + 8)
        for c in train.comments.prefix(m) {
            if let e = c.emotion { commentCounts[e.index] += 1 } else if let s = c.sector { commentCounts[PlutchikEmotion.count + s.rawValue] += 1 }
        }
        let present = commentCounts.filter { $0 > 0 }
        let commentMean = present.isEmpty ? 1 : present.reduce(0, +) / Float(present.count)
        let commentClassWeights = commentCounts.map { $0 > 0 ? pow(commentMean / $0, cf.commentClassWeightPower) : 1 }
        let positives = train.turns.filter(\.sarcasm).count
        let targets = train.turns.map {
            HeadsTarget(label: $0.emotion.index, classWeight: turnClassWeights[$0.emotion.index], sarcasm: $0.sarcasm ? 1 : 0,
                        intensity: $0.emotion.intensity, neutral: 0, weight: turnWeight)
        } + train.comments.prefix(m).map { c in
            HeadsTarget(label: c.emotion?.index, sector: c.emotion == nil ? c.sector?.rawValue : nil,
                        classWeight: c.emotion.map { commentClassWeights[$0.index] }
                            ?? c.sector.map { commentClassWeights[PlutchikEmotion.count + $0.rawValue] } ?? 1,
                        intensity: c.emotion?.intensity, neutral: c.neutral ? 1 : 0, weight: commentWeight)
        }
        let loss = HeadsLoss(sarcasmWeight: cf.sarcasmWeight,
                             sarcasmPositiveWeight: positives > 0 ? (Float(n - positives) / Float(positives)).squareRoot() : 1,
                             intensityWeight: cf.intensityWeight, neutralWeight: cf.neutralWeight)

        var net = HeadsNetwork(inputs: d, hidden: cf.hidden, rng: &rng)
        var adam = AdamState(net)
        var best = net, bestScore = -Float.infinity, bestEpoch = 0, bestReport = EvaluationReport(n: val.turns.count)
        var commentOrder = Array(0..<m), nextComment = m
        let keep = 1 - cf.dropout
        let emojiRows = val.turns.indices.filter { EmojiFeatures.hasEmoji(in: val.turns[$0].text) }
        for epoch in 1...(cf.fixedEpochs ?? cf.maxEpochs) {
            // Every turn, and the next `perEpoch` comments of a shuffled cycle through them all.
            var order = Array(0..<n)
            for _ in 0..<perEpoch {
                if nextComment == m { seededShuffle(&commentOrder, &rng); nextComment = 0 }
                order.append(n + commentOrder[nextComment]); nextComment += 1
            }
            seededShuffle(&order, &rng)
            var epochLoss: Float = 0
            for start in stride(from: 0, to: order.count, by: cf.batchSize) {
                let rows = Array(order[start..<min(order.count, start + cf.batchSize)])
                let b = rows.count
                var x = [Float](repeating: 0, count: b * d)
                for (r, i) in rows.enumerated() {
                    if i >= n {
                        x.replaceSubrange((r * d)..<((r + 1) * d), with: xComments[((i - n) * d)..<((i - n + 1) * d)])
                    } else {
                        let source = rng.nextUnit() < cf.textOnlyProbability ? xTrainText : xTrain
                        x.replaceSubrange((r * d)..<((r + 1) * d), with: source[(i * d)..<((i + 1) * d)])
                    }
                    if !layerRange.isEmpty, cf.layerDropout > 0, rng.nextUnit() < cf.layerDropout {
                        for j in layerRange { x[r * d + j] = 0 }
                    }
                }
                let mask = (0..<(b * cf.hidden)).map { _ in rng.nextUnit() < keep ? 1 / keep : 0 }
                let (h, z) = net.forward(x, batch: b, dropoutMask: mask)
                let (l, dz) = loss.evaluate(z: z, targets: rows.map { targets[$0] })
                epochLoss += l * Float(b)
                let grad = net.backward(x: x, h: h, dz: dz, batch: b, dropoutMask: mask)
                adam.step(&net, grad, learningRate: cf.learningRate, weightDecay: cf.weightDecay)
            }
            epochLoss /= Float(order.count)
            if let fixed = cf.fixedEpochs {
                progress(String(format: "epoch %3d/%d  loss %.4f  (fixed epochs, no selection)", epoch, fixed, epochLoss))
                if epoch == fixed {
                    best = net; bestEpoch = epoch
                    bestReport = evaluate(net, x: xVal, xText: xValText, xComments: xValComments, data: val)
                }
                continue
            }
            let (report, predictions) = evaluateWithPredictions(net, x: xVal, xText: xValText, xComments: xValComments, data: val)
            let score: Float
            switch cf.selectionTurns {
            case .all:
                score = selectionScore(report, weight: cf.selectionWeight, commentShare: cf.commentSelectionShare)
            case .withEmoji:
                score = macroF1(predicted: emojiRows.map { predictions[$0].label.index }, actual: emojiRows.map { val.turns[$0].emotion.index },
                                classes: PlutchikEmotion.count)
            }
            let g = report.goEmotions
            progress(String(format: "epoch %3d  loss %.4f  val macro-F1 %.3f  text-only %.3f  sarcasm F1 %.3f%@  selection %.3f%@",
                            epoch, epochLoss, report.emotionMacroF1 ?? 0, report.emotionMacroF1TextOnly ?? 0, report.sarcasmF1 ?? 0,
                            g.map { String(format: "  comments class F1 %.3f  sector %.3f  neutral AUROC %.3f", $0.classMacroF1, $0.sectorAccuracy,
                                           $0.neutralAUROC ?? 0) } ?? "",
                            score, score > bestScore ? "  *" : ""))
            if score > bestScore {
                bestScore = score; best = net; bestEpoch = epoch; bestReport = report
            } else if epoch - bestEpoch >= cf.patience {
                break
            }
        }
        // Fold the standardisation into the first layer, so the saved heads read raw layer features.
        for h in 0..<best.hidden {
            var shift: Float = 0
            for (q, j) in layerRange.enumerated() {
                let w = best.w1[h * d + j] * cf.layerFeatureScale / sd[q]
                best.w1[h * d + j] = w
                shift += w * mu[q]
            }
            best.b1[h] -= shift
        }
        let manifest = HeadsManifest(
            version: provenance.version, created: EmotionEvent.timestamp(Date()), seed: cf.seed,
            trainingDataSHA256: provenance.trainingDataSHA256, validationDataSHA256: provenance.validationDataSHA256,
            encoderSHA256: provenance.encoderSHA256, embeddingDimension: builder.embeddingDimension,
            embeddingScale: cf.embeddingScale, encoderLayers: cf.encoderLayers,
            hidden: cf.hidden, inputs: d, emojiVocabulary: vocabulary, weightsFile: "heads.f32",
            weightsSHA256: SHA256.hex(EmotionHeads.weightData(best)), bestEpoch: bestEpoch,
            validation: bestReport, neutralThreshold: 0.5, training: cf.summary)
        return EmotionHeads(manifest: manifest, network: best, builder: builder)
    }

    /// How an epoch (or a word-channel weight) is scored on val: `weight`·macro-F1 + (1 − `weight`)·text-only
    /// macro-F1 on the turns, mixed with the comments' score (class macro-F1, sector accuracy and neutral
    /// AUROC, averaged) by `commentShare` when val has comments.
    static func selectionScore(_ r: EvaluationReport, weight: Float = 0.5, commentShare: Float = 0.5) -> Float {
        let turns = weight * (r.emotionMacroF1 ?? 0) + (1 - weight) * (r.emotionMacroF1TextOnly ?? 0)
        guard let g = r.goEmotions else { return turns }
        return (1 - commentShare) * turns + commentShare * g.selectionScore
    }

    /// Averages the logits of heads trained alike (same data and layout, different seeds) as one
    /// wider network: the members' hidden layers side by side, the output layer divided by their count.
    /// Members without layer features read zeros there (their first layer is padded), so heads with
    /// and without layer features combine; `weights` (default equal) are normalised to sum 1.
    /// Re-evaluates the result on `val` for the manifest.
    public static func ensemble(_ members: [EmotionHeads], weights: [Float]? = nil, val: HeadsTrainingData) -> EmotionHeads {
        precondition(!members.isEmpty)
        let first = members.max { $0.builder.layerDimension < $1.builder.layerDimension }!, o = HeadsNetwork.outputs
        let raw = weights ?? [Float](repeating: 1, count: members.count)
        let total = raw.reduce(0, +)
        let h = members.reduce(0) { $0 + $1.network.hidden }, d = first.builder.count, e = first.builder.embeddingDimension
        var w1: [Float] = [], b1: [Float] = []
        var w2 = [Float](repeating: 0, count: o * h), b2 = [Float](repeating: 0, count: o)
        var col = 0
        for (m, weight) in zip(members, raw) {
            let mh = m.network.hidden, md = m.network.inputs, pad = d - md, k = weight / total
            precondition(pad == first.builder.layerDimension - m.builder.layerDimension, "members differ beyond their layer features")
            for r in 0..<mh {
                let row = m.network.w1[(r * md)..<((r + 1) * md)]
                w1 += row.prefix(e + m.builder.layerDimension)
                w1 += [Float](repeating: 0, count: pad)
                w1 += row.dropFirst(e + m.builder.layerDimension)
            }
            b1 += m.network.b1
            for r in 0..<o {
                for j in 0..<mh { w2[r * h + col + j] = m.network.w2[r * mh + j] * k }
                b2[r] += m.network.b2[r] * k
            }
            col += mh
        }
        let net = HeadsNetwork(inputs: d, hidden: h, w1: w1, b1: b1, w2: w2, b2: b2)
        let report = evaluate(net, builder: first.builder, val: val)
        var manifest = first.manifest
        manifest.hidden = h
        manifest.weightsSHA256 = SHA256.hex(EmotionHeads.weightData(net))
        manifest.validation = report
        manifest.training["ensemble_seeds"] = members.map { "\($0.manifest.seed)" }.joined(separator: ",")
        manifest.training["ensemble_weights"] = raw.map { "\($0 / total)" }.joined(separator: ",")
        manifest.training["ensemble_layers"] = members.map { "\($0.manifest.encoderLayers)" }.joined(separator: ",")
        manifest.training["ensemble_best_epochs"] = members.map { "\($0.manifest.bestEpoch)" }.joined(separator: ",")
        manifest.training["hidden"] = "\(first.network.hidden) per member × \(members.count)"
        return EmotionHeads(manifest: manifest, network: net, builder: first.builder)
    }

    /// Routes each turn by its "any emoji" input: a turn with emoji gets `emoji`'s outputs, one
    /// without gets `text`'s (e.g. heads with layer features, better on plain text). Written as one
    /// network in the usual format: each member's hidden units (plus one unit carrying its output
    /// bias) are switched off by a ±`gate` weight on the any-emoji indicator, exact for inputs whose
    /// pre-activations stay well below `gate`. Re-evaluates the result on `val` for the manifest.
    public static func route(emoji a: EmotionHeads, text b: EmotionHeads, val: HeadsTrainingData, gate: Float = 100) -> EmotionHeads {
        let (net, first) = routed(emoji: a, text: b, gate: gate)
        let report = evaluate(net, builder: first.builder, val: val)
        var manifest = first.manifest
        manifest.hidden = net.hidden
        manifest.weightsSHA256 = SHA256.hex(EmotionHeads.weightData(net))
        manifest.validation = report
        manifest.training["routing"] = "any emoji → emoji member (hidden 0..<\(a.network.hidden) + bias unit), no emoji → text member; gate \(gate)"
        func describe(_ m: EmotionHeads) -> String {
            let t = m.manifest.training
            return "seeds \(t["ensemble_seeds"] ?? "\(m.manifest.seed)"), layers \(m.manifest.encoderLayers), " +
                "best epochs \(t["ensemble_best_epochs"] ?? "\(m.manifest.bestEpoch)"), text-only chance \(t["text_only_probability"] ?? "?"), " +
                "selection \(t["selection"] ?? "?"); val \(m.manifest.validation.emotionMacroF1 ?? 0) / \(m.manifest.validation.emotionMacroF1TextOnly ?? 0)"
        }
        manifest.training["emoji_member"] = describe(a)
        manifest.training["text_member"] = describe(b)
        manifest.training["hidden"] = "\(a.network.hidden) + \(b.network.hidden) + 2 bias units"
        return EmotionHeads(manifest: manifest, network: net, builder: first.builder)
    }

    /// The routed network of `route(emoji:text:val:gate:)` and the member whose layout it reads.
    static func routed(emoji a: EmotionHeads, text b: EmotionHeads, gate: Float) -> (HeadsNetwork, EmotionHeads) {
        let first = a.builder.layerDimension >= b.builder.layerDimension ? a : b
        let o = HeadsNetwork.outputs, d = first.builder.count, e = first.builder.embeddingDimension
        let anyEmoji = 3 * e + first.builder.layerDimension + 3 + first.builder.vocabulary.count
        let h = a.network.hidden + b.network.hidden + 2
        var w1: [Float] = [], b1: [Float] = []
        var w2 = [Float](repeating: 0, count: o * h)
        var col = 0
        for (m, on) in [(a, true), (b, false)] {
            let mh = m.network.hidden, md = m.network.inputs, pad = d - md, lead = e + m.builder.layerDimension
            precondition(pad == first.builder.layerDimension - m.builder.layerDimension, "members differ beyond their layer features")
            // on: bias − gate + gate·any (live only with emoji); off: − gate·any (live only without).
            func unit(_ row: ArraySlice<Float>, _ bias: Float) {
                var r = Array(row.prefix(lead)) + [Float](repeating: 0, count: pad) + Array(row.dropFirst(lead))
                r[anyEmoji] += on ? gate : -gate
                w1 += r
                b1.append(on ? bias - gate : bias)
            }
            for r in 0..<mh { unit(m.network.w1[(r * md)..<((r + 1) * md)], m.network.b1[r]) }
            unit([Float](repeating: 0, count: md)[...], 1)   // the output-bias unit: 1 when live
            for r in 0..<o {
                for j in 0..<mh { w2[r * h + col + j] = m.network.w2[r * mh + j] }
                w2[r * h + col + mh] = m.network.b2[r]
            }
            col += mh + 1
        }
        return (HeadsNetwork(inputs: d, hidden: h, w1: w1, b1: b1, w2: w2, b2: [Float](repeating: 0, count: o)), first)
    }

    /// Adds a word-channel head (`LexicalHead`) to `heads`: fitted on `train`'s texts, its fusion
    /// weight chosen on `val` from `fusionWeights` by the same score as the heads' epochs (the mean of
    /// macro-F1 and text-only macro-F1), or `fusionWeight` when given (a refit: nothing is chosen).
    /// Every candidate's figures go into the manifest.
    public static func addLexicalHead(to heads: EmotionHeads, train: HeadsTrainingData, val: HeadsTrainingData,
                                      minCount: Int = 2, l2: Float = 5e-5, fusionWeights: [Float] = [0.25, 0.5, 0.75, 1],
                                      fusionWeight: Float? = nil, progress: (String) -> Void = { _ in }) -> EmotionHeads {
        let labelled = train.comments.filter { $0.emotion != nil }
        let texts = train.turns.map(\.text) + labelled.map(\.text)
        let vocabulary = LexicalVocabulary(fitting: texts, minCount: minCount)
        var lexical = LexicalHead.train(texts: texts, labels: train.turns.map(\.emotion.index) + labelled.map { $0.emotion!.index },
                                        vocabulary: vocabulary, l2: l2)
        let x = features(val, builder: heads.builder, textOnly: false), xText = features(val, builder: heads.builder, textOnly: true)
        let xComments = commentFeatures(val, builder: heads.builder)
        var best = evaluate(heads.network, x: x, xText: xText, xComments: xComments, data: val), bestWeight: Float = 0
        func score(_ r: EvaluationReport) -> Float { selectionScore(r) }
        var tried = [String(format: "0: %.3f / %.3f", best.emotionMacroF1 ?? 0, best.emotionMacroF1TextOnly ?? 0)]
        for w in fusionWeight.map({ [$0] }) ?? fusionWeights {
            lexical.fusionWeight = w
            let r = evaluate(heads.network, lexical: lexical, x: x, xText: xText, xComments: xComments, data: val)
            tried.append(String(format: "%g: %.3f / %.3f", w, r.emotionMacroF1 ?? 0, r.emotionMacroF1TextOnly ?? 0))
            progress("lexical head, fusion weight \(w): val macro-F1 \(r.emotionMacroF1 ?? 0), text-only \(r.emotionMacroF1TextOnly ?? 0)")
            if fusionWeight != nil || score(r) > score(best) { best = r; bestWeight = w }
        }
        lexical.fusionWeight = bestWeight
        var manifest = heads.manifest
        manifest.lexicalHead = LexicalHead.Manifest(vocabulary: vocabulary, fusionWeight: bestWeight, l2: l2, weightsFile: "lexical.f32",
                                                    weightsSHA256: SHA256.hex(lexical.weightData))
        manifest.validation = best
        manifest.training["lexical_head"] = "min count \(minCount), \(vocabulary.count) words from \(train.turns.count) turns and \(labelled.count) comments, l2 \(l2); val macro-F1 / text-only by fusion weight: "
            + tried.joined(separator: ", ")
        return EmotionHeads(manifest: manifest, network: heads.network, builder: heads.builder, lexicalHead: lexical)
    }

    /// `refit` (the members of `selected` trained again on train + val, `turns` turns, for
    /// `memberEpochs` epochs each) with `selected`'s val figures and training notes in its manifest:
    /// those are honest, while the refit's own figures are on turns it has seen. The refit's
    /// cross-validated val figures (`crossValidatedRefit`), if any, are noted too.
    public static func refitted(_ refit: EmotionHeads, selected: EmotionHeads, memberEpochs: [Int], turns: Int,
                                crossValidation: (report: EvaluationReport, folds: Int)? = nil) -> EmotionHeads {
        var manifest = refit.manifest
        manifest.validation = selected.manifest.validation
        manifest.training = selected.manifest.training
        manifest.training["refit"] = "weights refit on train + val (\(turns) turns) for each member's selected epoch count "
            + "(\(memberEpochs.map(String.init).joined(separator: ","))), word channel \(refit.manifest.lexicalHead?.vocabulary.count ?? 0) words; "
            + "val_metrics and these notes are the train-only fit's, which chose the recipe and the epochs (the refit has seen val)"
        if let (r, folds) = crossValidation {
            manifest.training["refit_cross_validation"] = String(
                format: "%d folds of val dialogues, each scored by the recipe refit on train + the other folds: macro-F1 %.4f (accuracy %.4f), text-only %.4f (%.4f), sarcasm F1 %.4f, wheel error %.4f, intensity MAE %.4f",
                folds, r.emotionMacroF1 ?? 0, r.emotionAccuracy ?? 0, r.emotionMacroF1TextOnly ?? 0, r.emotionAccuracyTextOnly ?? 0,
                r.sarcasmF1 ?? 0, r.emotionWheelError ?? 0, r.intensityMAE ?? 0)
        }
        return EmotionHeads(manifest: manifest, network: refit.network, builder: refit.builder, lexicalHead: refit.lexicalHead)
    }

    /// `heads` with the neutral gate calibrated on `val`'s comments: Platt scaling σ(a·z + b) of the
    /// neutral logit, fitted by Newton's method on the comments' "only label is neutral" and folded
    /// into the output layer; the threshold is then `threshold` on a calibrated probability. The
    /// calibration error before and after goes into the manifest.
    public static func calibratingNeutral(_ heads: EmotionHeads, val: HeadsTrainingData, threshold: Float = 0.5) -> EmotionHeads {
        precondition(!val.comments.isEmpty, "calibrating the neutral gate needs val comments")
        let net = heads.network, o = HeadsNetwork.outputs, k = HeadsNetwork.neutralOutput
        let z = net.forward(commentFeatures(val, builder: heads.builder), batch: val.comments.count).z
        let logits = (0..<val.comments.count).map { Double(z[$0 * o + k]) }, y = val.comments.map { $0.neutral ? 1.0 : 0.0 }
        let (a, b) = plattScaling(logits: logits, labels: y)
        var w2 = net.w2, b2 = net.b2
        for j in 0..<net.hidden { w2[k * net.hidden + j] *= Float(a) }
        b2[k] = Float(a) * b2[k] + Float(b)
        let calibrated = HeadsNetwork(inputs: net.inputs, hidden: net.hidden, w1: net.w1, b1: net.b1, w2: w2, b2: b2)
        var manifest = heads.manifest
        let before = manifest.validation.goEmotions?.neutralCalibrationError
        manifest.validation = evaluate(calibrated, lexical: heads.lexicalHead, builder: heads.builder, val: val)
        manifest.neutralThreshold = threshold
        manifest.weightsSHA256 = SHA256.hex(EmotionHeads.weightData(calibrated, precision: manifest.weightsPrecision))
        manifest.training["neutral_calibration"] = String(
            format: "Platt scaling on %d val comments: a %.4f, b %.4f; calibration error %.4f before, %.4f after; threshold %.2f",
            val.comments.count, a, b, before ?? .nan, manifest.validation.goEmotions?.neutralCalibrationError ?? .nan, threshold)
        return EmotionHeads(manifest: manifest, network: calibrated, builder: heads.builder, lexicalHead: heads.lexicalHead)
    }

    /// (a, b) minimising the cross-entropy of σ(a·logit + b) against `labels`: Newton's method,
    /// each step halved until the loss falls.
    static func plattScaling(logits: [Double], labels: [Double]) -> (a: Double, b: Double) {
        func loss(_ a: Double, _ b: Double) -> Double {
            zip(logits, labels).reduce(0) { acc, e in
                let s = a * e.0 + b
                return acc + max(s, 0) - s * e.1 + log1p(exp(-abs(s)))
            }
        }
        var a = 1.0, b = 0.0, current = loss(a, b)
        for _ in 0..<100 {
            var ga = 0.0, gb = 0.0, haa = 1e-9, hab = 0.0, hbb = 1e-9
            for (x, y) in zip(logits, labels) {
                let p = 1 / (1 + exp(-(a * x + b))), r = p - y, w = p * (1 - p)
                ga += r * x; gb += r; haa += w * x * x; hab += w * x; hbb += w
            }
            let det = haa * hbb - hab * hab
            guard det > 0 else { break }
            var da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det
            var next = loss(a - da, b - db)
            while next > current && abs(da) + abs(db) > 1e-12 { da /= 2; db /= 2; next = loss(a - da, b - db) }
            guard next <= current else { break }
            a -= da; b -= db
            let gain = current - next
            current = next
            if gain < 1e-10 * max(1, current) { break }
        }
        return (a, b)
    }

    /// `heads` with their network rounded to half floats and stored so ("heads.f16", half the
    /// size), re-evaluated on `val` with the rounded weights; the figures before rounding go into
    /// the manifest.
    public static func storedInHalfPrecision(_ heads: EmotionHeads, val: HeadsTrainingData) -> EmotionHeads {
        func half(_ v: [Float]) -> [Float] { v.map { Float(Float16($0)) } }
        let n = heads.network
        let net = HeadsNetwork(inputs: n.inputs, hidden: n.hidden, w1: half(n.w1), b1: half(n.b1), w2: half(n.w2), b2: half(n.b2))
        var manifest = heads.manifest
        let before = manifest.validation
        manifest.validation = evaluate(net, lexical: heads.lexicalHead, builder: heads.builder, val: val)
        manifest.weightsPrecision = .f16
        manifest.weightsFile = "heads.f16"
        manifest.weightsSHA256 = SHA256.hex(EmotionHeads.weightData(net, precision: .f16))
        manifest.training["weights_precision"] = String(format: "float16 for storage; val macro-F1 / text-only before rounding %.4f / %.4f",
                                                        before.emotionMacroF1 ?? 0, before.emotionMacroF1TextOnly ?? 0)
        return EmotionHeads(manifest: manifest, network: net, builder: heads.builder, lexicalHead: heads.lexicalHead)
    }

    /// `net` (with `lexical` fused) evaluated on `val`, as given and text only, and on its comments.
    static func evaluate(_ net: HeadsNetwork, lexical: LexicalHead? = nil, builder: HeadsFeatureBuilder, val: HeadsTrainingData) -> EvaluationReport {
        evaluate(net, lexical: lexical, x: features(val, builder: builder, textOnly: false),
                 xText: features(val, builder: builder, textOnly: true), xComments: commentFeatures(val, builder: builder), data: val)
    }

    /// The feature matrix (M, D) of a data set's comments: each a first turn, with no context.
    static func commentFeatures(_ data: HeadsTrainingData, builder: HeadsFeatureBuilder) -> [Float] {
        let d = builder.count
        var x = [Float](repeating: 0, count: data.comments.count * d)
        for (i, c) in data.comments.enumerated() {
            var slice = x[(i * d)..<((i + 1) * d)]
            builder.write(into: &slice, embedding: data.commentEmbeddings[i],
                          layerFeatures: builder.layerDimension == 0 ? [] : data.commentLayerFeatures[i],
                          emoji: EmojiFeatures(text: c.text, vocabulary: builder.vocabulary), context: DialogueContext(), speaker: "")
            x.replaceSubrange((i * d)..<((i + 1) * d), with: slice)
        }
        return x
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
            builder.write(into: &slice, embedding: e, layerFeatures: builder.layerDimension == 0 ? [] : textOnly ? data.textOnlyLayerFeatures[i] : data.layerFeatures[i],
                          emoji: emoji, context: ctx, speaker: t.speaker)
            x.replaceSubrange((i * d)..<((i + 1) * d), with: slice)
            ctx.append(embedding: e, speaker: t.speaker, emoji: emoji)
            contexts[t.dialogueID] = ctx
        }
        return x
    }

    static func evaluate(_ net: HeadsNetwork, lexical: LexicalHead? = nil, x: [Float], xText: [Float], xComments: [Float] = [],
                         data: HeadsTrainingData) -> EvaluationReport {
        evaluateWithPredictions(net, lexical: lexical, x: x, xText: xText, xComments: xComments, data: data).report
    }

    /// The report, and the predictions of the turns as given.
    static func evaluateWithPredictions(_ net: HeadsNetwork, lexical: LexicalHead? = nil, x: [Float], xText: [Float], xComments: [Float] = [],
                                        data: HeadsTrainingData) -> (report: EvaluationReport, predictions: [EmotionPrediction]) {
        let n = data.turns.count
        let z = fusedLogits(net, lexical: lexical, x: x, xText: xText, xComments: xComments, data: data)
        let p = EmotionHeads.predictions(logits: z.turns, batch: n)
        let pt = EmotionHeads.predictions(logits: z.textOnly, batch: n)
        var report = EvaluationReport.emotion(predictions: p, textOnly: pt, labels: data.turns.map(\.emotion), sarcasm: data.turns.map(\.sarcasm))
        if !data.comments.isEmpty {
            report.goEmotions = GoEmotionsReport(predictions: EmotionHeads.predictions(logits: z.comments, batch: data.comments.count),
                                                 comments: data.comments, neutralThreshold: 0.5)
        }
        return (report, p)
    }

    /// The raw outputs (B, 35) of `data`'s turns as given and emoji-stripped, and of its comments
    /// (empty without comments), from their feature rows, the word channel fused into those
    /// without emoji.
    static func fusedLogits(_ net: HeadsNetwork, lexical: LexicalHead?, x: [Float], xText: [Float], xComments: [Float],
                            data: HeadsTrainingData) -> (turns: [Float], textOnly: [Float], comments: [Float]) {
        let n = data.turns.count, m = data.comments.count
        var z = net.forward(x, batch: n).z, zText = net.forward(xText, batch: n).z
        var zComments = m == 0 ? [] : net.forward(xComments, batch: m).z
        if let lexical {
            let texts = data.turns.map(\.text), comments = data.comments.map(\.text)
            lexical.fuse(into: &z, texts: texts, hasEmoji: texts.map { EmojiFeatures.hasEmoji(in: $0) })
            lexical.fuse(into: &zText, texts: texts.map(EmojiFeatures.strip), hasEmoji: .init(repeating: false, count: n))
            lexical.fuse(into: &zComments, texts: comments, hasEmoji: comments.map { EmojiFeatures.hasEmoji(in: $0) })
        }
        return (z, zText, zComments)
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
