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
    /// Both data sets' turns, `self`'s first (dialogue ids must not repeat across the two).
    public func appending(_ other: HeadsTrainingData) -> HeadsTrainingData {
        precondition(Set(turns.map(\.dialogueID)).isDisjoint(with: other.turns.map(\.dialogueID)),
                     "appended data shares dialogue ids: their turns would join one dialogue")
        return HeadsTrainingData(turns: turns + other.turns, embeddings: embeddings + other.embeddings,
                          textOnlyEmbeddings: textOnlyEmbeddings + other.textOnlyEmbeddings,
                          layerFeatures: layerFeatures + other.layerFeatures, textOnlyLayerFeatures: textOnlyLayerFeatures + other.textOnlyLayerFeatures)
    }

    /// The turns at `indices`, in that order.
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
        var xTrain = features(train, builder: builder, textOnly: false), xTrainText = features(train, builder: builder, textOnly: true)
        var xVal = features(val, builder: builder, textOnly: false), xValText = features(val, builder: builder, textOnly: true)
        // Layer features: standardised with the training set's mean and deviation, then scaled.
        let layerRange = e..<(e + builder.layerDimension)
        var mu = [Float](repeating: 0, count: builder.layerDimension), sd = [Float](repeating: 1, count: builder.layerDimension)
        if !layerRange.isEmpty {
            for (k, j) in layerRange.enumerated() {
                var s: Double = 0, s2: Double = 0
                for r in 0..<n { let v = Double(xTrain[r * d + j]); s += v; s2 += v * v }
                let m = s / Double(n)
                mu[k] = Float(m); sd[k] = Float(max((s2 / Double(n) - m * m).squareRoot(), 1e-6))
            }
            for k in 0..<4 {
                func standardise(_ x: inout [Float]) {
                    for r in 0..<(x.count / d) { for (q, j) in layerRange.enumerated() { x[r * d + j] = (x[r * d + j] - mu[q]) / sd[q] * cf.layerFeatureScale } }
                }
                switch k { case 0: standardise(&xTrain); case 1: standardise(&xTrainText); case 2: standardise(&xVal); default: standardise(&xValText) }
            }
        }
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
        let emojiRows = val.turns.indices.filter { EmojiFeatures.hasEmoji(in: val.turns[$0].text) }
        for epoch in 1...(cf.fixedEpochs ?? cf.maxEpochs) {
            seededShuffle(&order, &rng)
            var epochLoss: Float = 0
            for start in stride(from: 0, to: n, by: cf.batchSize) {
                let rows = Array(order[start..<min(n, start + cf.batchSize)])
                let b = rows.count
                var x = [Float](repeating: 0, count: b * d)
                for (r, i) in rows.enumerated() {
                    let source = rng.nextUnit() < cf.textOnlyProbability ? xTrainText : xTrain
                    x.replaceSubrange((r * d)..<((r + 1) * d), with: source[(i * d)..<((i + 1) * d)])
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
            if let fixed = cf.fixedEpochs {
                progress(String(format: "epoch %3d/%d  loss %.4f  (fixed epochs, no selection)", epoch, fixed, epochLoss / Float(n)))
                if epoch == fixed { best = net; bestEpoch = epoch; bestReport = evaluate(net, x: xVal, xText: xValText, data: val) }
                continue
            }
            let (report, predictions) = evaluateWithPredictions(net, x: xVal, xText: xValText, data: val)
            let score: Float
            switch cf.selectionTurns {
            case .all:
                score = cf.selectionWeight * (report.emotionMacroF1 ?? 0) + (1 - cf.selectionWeight) * (report.emotionMacroF1TextOnly ?? 0)
            case .withEmoji:
                score = macroF1(predicted: emojiRows.map { predictions[$0].label.index }, actual: emojiRows.map { val.turns[$0].emotion.index },
                                classes: PlutchikEmotion.count)
            }
            progress(String(format: "epoch %3d  loss %.4f  val macro-F1 %.3f  text-only %.3f  sarcasm F1 %.3f  selection %.3f%@",
                            epoch, epochLoss / Float(n), report.emotionMacroF1 ?? 0, report.emotionMacroF1TextOnly ?? 0,
                            report.sarcasmF1 ?? 0, score, score > bestScore ? "  *" : ""))
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
            validation: bestReport, training: cf.summary)
        return EmotionHeads(manifest: manifest, network: best, builder: builder)
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
        let vocabulary = LexicalVocabulary(fitting: train.turns.map(\.text), minCount: minCount)
        var lexical = LexicalHead.train(texts: train.turns.map(\.text), labels: train.turns.map(\.emotion.index), vocabulary: vocabulary, l2: l2)
        let x = features(val, builder: heads.builder, textOnly: false), xText = features(val, builder: heads.builder, textOnly: true)
        var best = evaluate(heads.network, x: x, xText: xText, data: val), bestWeight: Float = 0
        func score(_ r: EvaluationReport) -> Float { ((r.emotionMacroF1 ?? 0) + (r.emotionMacroF1TextOnly ?? 0)) / 2 }
        var tried = [String(format: "0: %.3f / %.3f", best.emotionMacroF1 ?? 0, best.emotionMacroF1TextOnly ?? 0)]
        for w in fusionWeight.map({ [$0] }) ?? fusionWeights {
            lexical.fusionWeight = w
            let r = evaluate(heads.network, lexical: lexical, x: x, xText: xText, data: val)
            tried.append(String(format: "%g: %.3f / %.3f", w, r.emotionMacroF1 ?? 0, r.emotionMacroF1TextOnly ?? 0))
            progress("lexical head, fusion weight \(w): val macro-F1 \(r.emotionMacroF1 ?? 0), text-only \(r.emotionMacroF1TextOnly ?? 0)")
            if fusionWeight != nil || score(r) > score(best) { best = r; bestWeight = w }
        }
        lexical.fusionWeight = bestWeight
        var manifest = heads.manifest
        manifest.lexicalHead = LexicalHead.Manifest(vocabulary: vocabulary, fusionWeight: bestWeight, l2: l2, weightsFile: "lexical.f32",
                                                    weightsSHA256: SHA256.hex(lexical.weightData))
        manifest.validation = best
        manifest.training["lexical_head"] = "min count \(minCount), \(vocabulary.count) words, l2 \(l2); val macro-F1 / text-only by fusion weight: "
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

    /// `net` (with `lexical` fused) evaluated on `val`, as given and text only.
    static func evaluate(_ net: HeadsNetwork, lexical: LexicalHead? = nil, builder: HeadsFeatureBuilder, val: HeadsTrainingData) -> EvaluationReport {
        evaluate(net, lexical: lexical, x: features(val, builder: builder, textOnly: false),
                 xText: features(val, builder: builder, textOnly: true), data: val)
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

    static func evaluate(_ net: HeadsNetwork, lexical: LexicalHead? = nil, x: [Float], xText: [Float], data: HeadsTrainingData) -> EvaluationReport {
        evaluateWithPredictions(net, lexical: lexical, x: x, xText: xText, data: data).report
    }

    /// The report, and the predictions of the turns as given.
    static func evaluateWithPredictions(_ net: HeadsNetwork, lexical: LexicalHead? = nil, x: [Float], xText: [Float],
                                        data: HeadsTrainingData) -> (report: EvaluationReport, predictions: [EmotionPrediction]) {
        let n = data.turns.count
        var z = net.forward(x, batch: n).z, zText = net.forward(xText, batch: n).z
        if let lexical {
            let texts = data.turns.map(\.text)
            lexical.fuse(into: &z, texts: texts, hasEmoji: texts.map { EmojiFeatures.hasEmoji(in: $0) })
            lexical.fuse(into: &zText, texts: texts.map(EmojiFeatures.strip), hasEmoji: .init(repeating: false, count: n))
        }
        let p = EmotionHeads.predictions(logits: z, batch: n)
        let pt = EmotionHeads.predictions(logits: zText, batch: n)
        return (.emotion(predictions: p, textOnly: pt, labels: data.turns.map(\.emotion), sarcasm: data.turns.map(\.sarcasm)), p)
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
