import Foundation
import Contracts
import Emotion
import Escalation

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
                        intensity: $0.emotion.intensity, neutral: cf.turnGateLoss ? 0 : nil, weight: turnWeight)
        } + train.comments.prefix(m).map { c in
            HeadsTarget(label: c.emotion?.index, sector: c.emotion == nil ? c.sector?.rawValue : nil,
                        classWeight: c.emotion.map { commentClassWeights[$0.index] }
                            ?? c.sector.map { commentClassWeights[PlutchikEmotion.count + $0.rawValue] } ?? 1,
                        intensity: c.emotion?.intensity, neutral: c.neutral ? 1 : 0, weight: commentWeight)
        }
        let loss = HeadsLoss(sarcasmWeight: cf.sarcasmWeight,
                             sarcasmPositiveWeight: positives > 0 ? (Float(n - positives) / Float(positives)).squareRoot() : 1,
                             intensityWeight: cf.intensityWeight, neutralWeight: cf.neutralWeight)

        // Contexts from real conversations for the comments to be placed after (the context part of
        // their feature rows), drawn once.
        let placing = m > 0 && cf.commentContextProbability > 0 && !train.conversations.isEmpty
        let contextRange = builder.contextRange
        let contextBlocks: [[Float]] = placing ? (0..<4096).map { _ in
            let (context, speaker) = HeadsTrainingData.placedContext(train.conversations, rng: &rng)
            let row = builder.features(embedding: .init(repeating: 0, count: e), layerFeatures: .init(repeating: 0, count: builder.layerDimension),
                                       emoji: .none(vocabulary: vocabulary), context: context, speaker: speaker)
            return Array(row[contextRange])
        } : []
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
                        if placing, rng.nextUnit() < cf.commentContextProbability {
                            let block = contextBlocks[Int(rng.next() % UInt64(contextBlocks.count))]
                            x.replaceSubrange((r * d + contextRange.lowerBound)..<(r * d + contextRange.upperBound), with: block)
                        }
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
}
