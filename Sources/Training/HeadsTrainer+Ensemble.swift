import Foundation
import Contracts
import Emotion
import Escalation

extension HeadsTrainer {
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
}
