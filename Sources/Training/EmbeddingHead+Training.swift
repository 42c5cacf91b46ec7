import Foundation
import Contracts
import Emotion
import Kernels

extension EmbeddingHead {
    /// One training row: an embedding and whichever of its labels are known.
    package struct Example: Sendable {
        var embedding: [Float]
        var emotion: Int?
        var sector: Int?
        var neutral: Bool?
        /// The row's weight in the class loss.
        var weight: Float

        package init(embedding: [Float], emotion: Int? = nil, sector: Int? = nil, neutral: Bool? = nil, weight: Float = 1) {
            self.embedding = embedding; self.emotion = emotion; self.sector = sector; self.neutral = neutral; self.weight = weight
        }
    }

    /// Fits the three linear models by full-batch Adam on standardised embeddings: the weighted mean
    /// cross-entropy of the class rows over the rows with an emotion, of the sector rows over the
    /// rows with a sector, the mean logistic loss of the neutral row over the rows with a neutral
    /// label, plus `l2`·‖W‖² on the standardised class and sector weights and `neutralL2` (default
    /// `l2`) on the neutral row's: the gate ranks best far more regularised than the classes. The
    /// standardisation is folded into the returned weights, so the head reads raw embeddings.
    package static func train(_ examples: [Example], l2: Float, neutralL2: Float? = nil, iterations: Int = 300, learningRate: Float = 0.02,
                              progress: (String) -> Void = { _ in }) -> EmbeddingHead {
        precondition(!examples.isEmpty)
        let n = examples.count, e = examples[0].embedding.count, o = outputs, c = PlutchikEmotion.count
        var mean = [Float](repeating: 0, count: e), scale = [Float](repeating: 0, count: e)
        for x in examples { for j in 0..<e { mean[j] += x.embedding[j] } }
        for j in 0..<e { mean[j] /= Float(n) }
        for x in examples { for j in 0..<e { let d = x.embedding[j] - mean[j]; scale[j] += d * d } }
        for j in 0..<e { scale[j] = (scale[j] / Float(n)).squareRoot() + 1e-6 }
        var x = [Float](repeating: 0, count: n * e), xt = x // (N, E) and (E, N)
        for (i, ex) in examples.enumerated() {
            for j in 0..<e {
                let v = (ex.embedding[j] - mean[j]) / scale[j]
                x[i * e + j] = v; xt[j * n + i] = v
            }
        }
        let classRows = max(1, examples.reduce(Float(0)) { $0 + ($1.emotion == nil ? 0 : $1.weight) })
        let sectorRows = Float(max(1, examples.count(where: { $0.sector != nil })))
        let neutralRows = Float(max(1, examples.count(where: { $0.neutral != nil })))

        let gateL2 = neutralL2 ?? l2
        var w = [Float](repeating: 0, count: o * e), b = [Float](repeating: 0, count: o)
        var mw = w, vw = w, mb = b, vb = b
        var z = [Float](repeating: 0, count: n * o), dzt = z, gw = w
        for t in 1...iterations {
            matmulTransposed(&z, x, w, b, m: n, n: o, k: e) // (N, 41)
            var loss: Float = 0, gb = [Float](repeating: 0, count: o)
            for (i, ex) in examples.enumerated() {
                let row = i * o
                func softmax(_ range: Range<Int>, target: Int, weight: Float) {
                    let mx = range.map { z[row + $0] }.max()!
                    var sum: Float = 0
                    for k in range { sum += exp(z[row + k] - mx) }
                    loss -= weight * (z[row + range.lowerBound + target] - mx - log(sum))
                    for k in range {
                        let g = weight * (exp(z[row + k] - mx) / sum - (k == range.lowerBound + target ? 1 : 0))
                        dzt[k * n + i] = g; gb[k] += g
                    }
                }
                for k in 0..<o { dzt[k * n + i] = 0 }
                if let y = ex.emotion { softmax(0..<c, target: y, weight: ex.weight / classRows) }
                if let y = ex.sector { softmax(c..<(c + 8), target: y, weight: 1 / sectorRows) }
                if let y = ex.neutral {
                    let s = z[row + neutralRow], p: Float = 1 / (1 + exp(-s)), label: Float = y ? 1 : 0
                    loss += (max(s, 0) - s * label + log1p(exp(-abs(s)))) / neutralRows
                    dzt[neutralRow * n + i] = (p - label) / neutralRows; gb[neutralRow] += (p - label) / neutralRows
                }
            }
            matmulTransposed(&gw, dzt, xt, nil, m: o, n: e, k: n) // (41, E)
            for i in w.indices {
                let lambda = i / e == neutralRow ? gateL2 : l2
                loss += lambda * w[i] * w[i]; gw[i] += 2 * lambda * w[i]
            }
            let c1 = 1 - pow(0.9, Float(t)), c2 = 1 - pow(0.999, Float(t))
            func adam(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float]) {
                for i in p.indices {
                    m[i] = 0.9 * m[i] + 0.1 * g[i]
                    v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                    p[i] -= learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
                }
            }
            adam(&w, gw, &mw, &vw)
            adam(&b, gb, &mb, &vb)
            if t % 50 == 0 || t == iterations { progress(String(format: "embedding head, iteration %d/%d: loss %.4f", t, iterations, loss)) }
        }
        // Fold the standardisation: w·(x − μ)/σ + b = (w/σ)·x + (b − Σ w·μ/σ).
        for k in 0..<o {
            for j in 0..<e {
                w[k * e + j] /= scale[j]
                b[k] -= w[k * e + j] * mean[j]
            }
        }
        return EmbeddingHead(weights: w, bias: b, classWeight: 1, sectorWeight: 1)
    }
}

extension HeadsTrainer {
    /// Adds an `EmbeddingHead` to `heads`: fitted on `train`'s comments (class, sector, neutral) and
    /// turns (class, as given and emoji-stripped, each weighing `turnWeight` comments); its neutral
    /// logit blended with the heads' (the smallest blend from `gateBlends` within 0.0005 of the best
    /// neutral AUROC on `val`'s comments, Platt-scaled on those without emoji); its class and sector weights chosen on
    /// `val` by the score the heads' epochs are chosen by, from `weights` × `weights` for turns within
    /// a dialogue and `firstTurnWeights` × `firstTurnWeights` for a dialogue's first turn (every
    /// comment). The candidates' figures go into the manifest, and `version`, if given, replaces the heads'.
    public static func addEmbeddingHead(to heads: EmotionHeads, train: HeadsTrainingData, val: HeadsTrainingData, l2: Float = 1e-3, neutralL2: Float = 0.05, turnWeight: Float = 1,
                                        iterations: Int = 300, weights: [Float] = [0, 0.125, 0.25, 0.5, 0.75, 1],
                                        firstTurnWeights: [Float] = [0, 0.25, 0.5, 0.75, 1, 1.5, 2],
                                        gateBlends: [Float] = [0, 0.25, 0.5, 0.75, 1], version: String? = nil,
                                        progress: (String) -> Void = { _ in }) -> EmotionHeads {
        precondition(!val.comments.isEmpty, "choosing the embedding head's weights needs val comments")
        var examples: [EmbeddingHead.Example] = []
        for (i, t) in train.turns.enumerated() {
            examples.append(.init(embedding: train.embeddings[i], emotion: t.emotion.index, weight: turnWeight))
            examples.append(.init(embedding: train.textOnlyEmbeddings[i], emotion: t.emotion.index, weight: turnWeight))
        }
        for (i, comment) in train.comments.enumerated() {
            examples.append(.init(embedding: train.commentEmbeddings[i], emotion: comment.emotion?.index,
                                  sector: comment.sector?.rawValue, neutral: comment.neutral))
        }
        var head = EmbeddingHead.train(examples, l2: l2, neutralL2: neutralL2, iterations: iterations, progress: progress)
        // The heads' own outputs, computed once; each candidate adds the head to copies of them.
        let n = val.turns.count
        let (z, zText, zComments) = fusedLogits(heads.network, lexical: heads.lexicalHead,
                                                x: features(val, builder: heads.builder, textOnly: false),
                                                xText: features(val, builder: heads.builder, textOnly: true),
                                                xComments: commentFeatures(val, builder: heads.builder), data: val)
        let turnEmoji = val.turns.map { EmojiFeatures.hasEmoji(in: $0.text) }, commentEmoji = val.comments.map { EmojiFeatures.hasEmoji(in: $0.text) }

        // The gate: (1 − λ)·heads' logit + λ·the head's, Platt-scaled on the comments without emoji;
        // λ chosen by the neutral AUROC over all val comments.
        let o = HeadsNetwork.outputs, k = HeadsNetwork.neutralOutput
        let plain = val.comments.indices.filter { !commentEmoji[$0] }, labels = val.comments.map(\.neutral)
        let own = val.comments.indices.map { zComments[$0 * o + k] }
        let probe = val.comments.indices.map { head.logits(val.commentEmbeddings[$0])[EmbeddingHead.neutralRow] }
        var candidates: [(auroc: Float, lambda: Float, a: Float, b: Float)] = []
        for lambda in gateBlends {
            let blend = val.comments.indices.map { (1 - lambda) * own[$0] + lambda * probe[$0] }
            let (a, b) = plattScaling(logits: plain.map { Double(blend[$0]) }, labels: plain.map { labels[$0] ? 1 : 0 })
            let scores = val.comments.indices.map { commentEmoji[$0] ? own[$0] : Float(a) * blend[$0] + Float(b) }
            let auc = auroc(scores: scores, labels: labels)
            progress(String(format: "embedding head, gate blend %g: neutral AUROC %.4f", lambda, auc))
            candidates.append((auc, lambda, Float(a), Float(b)))
        }
        // The smallest λ within 0.0005 of the best AUROC: the heads' logit reads the dialogue, and
        // escalation loses evidence when the gate leans on the embedding alone (README, model card).
        guard let top = candidates.map(\.auroc).max(),
              let gate = candidates.filter({ $0.auroc >= top - 5e-4 }).min(by: { $0.lambda < $1.lambda }) else { return heads }
        head = head.scalingNeutral(a: gate.a * gate.lambda, b: gate.b)
        head.gateKeep = gate.a * (1 - gate.lambda)

        // The head's logits, computed once; each candidate weighs them differently.
        let turnLogits = val.embeddings.map(head.logits), textLogits = val.textOnlyEmbeddings.map(head.logits)
        let commentLogits = val.commentEmbeddings.map(head.logits)
        var seen = Set<String>()
        let turnFirst = val.turns.map { seen.insert($0.dialogueID).inserted }
        func report(_ head: EmbeddingHead?) -> EvaluationReport {
            var (zf, zt, zc) = (z, zText, zComments)
            if let head {
                head.fuse(into: &zf, logits: turnLogits, hasEmoji: turnEmoji, firstTurn: turnFirst)
                head.fuse(into: &zt, logits: textLogits, hasEmoji: .init(repeating: false, count: n), firstTurn: turnFirst)
                head.fuse(into: &zc, logits: commentLogits, hasEmoji: commentEmoji, firstTurn: .init(repeating: true, count: val.comments.count))
            }
            let threshold = heads.neutralThreshold
            var r = EvaluationReport.emotion(predictions: EmotionHeads.predictions(logits: zf, batch: n, neutralThreshold: threshold),
                                             textOnly: EmotionHeads.predictions(logits: zt, batch: n, neutralThreshold: threshold),
                                             labels: val.turns.map(\.emotion), sarcasm: val.turns.map(\.sarcasm))
            r.goEmotions = GoEmotionsReport(predictions: EmotionHeads.predictions(logits: zc, batch: val.comments.count, neutralThreshold: threshold),
                                            comments: val.comments, neutralThreshold: threshold)
            return r
        }
        func describe(_ r: EvaluationReport) -> String {
            String(format: "seed %.3f / text %.3f, comments %.3f / %.3f / %.3f", r.emotionMacroF1 ?? 0, r.emotionMacroF1TextOnly ?? 0,
                   r.goEmotions?.classMacroF1 ?? 0, r.goEmotions?.sectorAccuracy ?? 0, r.goEmotions?.neutralAUROC ?? 0)
        }
        // Every first-turn pair against every in-dialogue pair; the manifest lists each first-turn
        // pair with its best in-dialogue pair, and the pairs both grids hold with every turn weighted alike.
        var best: (report: EvaluationReport, weights: [Float])?
        var tried: [String] = [], alike = ["without: " + describe(report(nil))]
        for fcw in firstTurnWeights {
            for fsw in firstTurnWeights {
                var row: (report: EvaluationReport, weights: [Float])?
                for cw in weights {
                    for sw in weights {
                        head.classWeight = cw; head.sectorWeight = sw; head.firstTurnClassWeight = fcw; head.firstTurnSectorWeight = fsw
                        let r = report(head)
                        if fcw == cw && fsw == sw { alike.append(String(format: "%g/%g: ", cw, sw) + describe(r)) }
                        if row == nil || selectionScore(r) > selectionScore(row!.report) { row = (r, [cw, sw, fcw, fsw]) }
                    }
                }
                guard let row else { continue }
                let line = String(format: "first turn %g/%g, in dialogue %g/%g: ", fcw, fsw, row.weights[0], row.weights[1]) + describe(row.report)
                tried.append(line)
                progress("embedding head, " + line)
                if best == nil || selectionScore(row.report) > selectionScore(best!.report) { best = row }
            }
        }
        guard let best else { return heads }
        head.classWeight = best.weights[0]; head.sectorWeight = best.weights[1]
        head.firstTurnClassWeight = best.weights[2]; head.firstTurnSectorWeight = best.weights[3]
        var manifest = heads.manifest
        if let version { manifest.version = version }
        manifest.embeddingHead = EmbeddingHead.Manifest(classWeight: head.classWeight, sectorWeight: head.sectorWeight,
                                                        firstTurnClassWeight: head.firstTurnClassWeight, firstTurnSectorWeight: head.firstTurnSectorWeight,
                                                        gateKeep: head.gateKeep, l2: l2, neutralL2: neutralL2,
                                                        weightsFile: "embedding.f32", weightsSHA256: SHA256.hex(head.weightData))
        manifest.validation = best.report
        manifest.neutralBaseRate = Float(plain.count(where: { labels[$0] })) / Float(plain.count)
        manifest.training["embedding_head"] = String(
            format: "%d turns (as given and stripped, weight %g) and %d comments, l2 %g (neutral row %g), %d Adam iterations; gate blend λ %g (neutral AUROC on val by λ: %@), Platt-scaled on %d val comments without emoji (a %.4f, b %.4f); val figures (seed macro-F1 / text-only, comments class macro-F1 / sector / neutral AUROC) by class/sector weight, the first turn weighted alike: ",
            train.turns.count, turnWeight, train.comments.count, l2, neutralL2, iterations, gate.lambda, candidates.map { String(format: "%g: %.4f", $0.lambda, $0.auroc) }.joined(separator: ", "), plain.count, gate.a, gate.b)
            + alike.joined(separator: "; ") + "; by first-turn class/sector weight, with the best in-dialogue weights: " + tried.joined(separator: "; ")
        return EmotionHeads(manifest: manifest, network: heads.network, builder: heads.builder, lexicalHead: heads.lexicalHead,
                            embeddingHead: head, encoderAdapterDirectory: heads.encoderAdapterDirectory)
    }
}
