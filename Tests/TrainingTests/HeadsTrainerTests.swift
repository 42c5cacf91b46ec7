import Foundation
import Testing
@testable import Contracts
@testable import Emotion
@testable import Training

/// Epoch selection, ensembles and emoji routing.
@Suite struct HeadsTrainerTests {
    static let vocabulary = EmojiVocabulary(symbols: ["😡", "🙄"])

    /// `n` turns over 8 emotions in dialogues of 4, half with an emoji; 4-d embeddings and 8-d
    /// layer features that carry the label under noise, so training moves the figures.
    static func data(_ n: Int, seed: UInt64, dialoguePrefix: String = "d") -> HeadsTrainingData {
        var rng = SeededGenerator(seed: seed)
        let labels = Array(PlutchikEmotion.allCases.prefix(8))
        let turns = (0..<n).map { i in
            LabelledTurn(dialogueID: "\(dialoguePrefix)\(i / 4)", turnID: i % 4, speaker: i % 2 == 0 ? "a" : "b",
                         text: "turn \(i)" + (i % 2 == 0 ? " 😡" : ""), emotion: labels[i % 8], sarcasm: i % 3 == 0)
        }
        func noisy(_ i: Int, _ d: Int) -> [Float] { (0..<d).map { j in (j == i % d ? 1 : 0) + 0.8 * (rng.nextUnit() - 0.5) } }
        let emb = turns.indices.map { noisy($0 % 8, 4) }, lf = turns.indices.map { noisy($0 % 8, 8) }
        return HeadsTrainingData(turns: turns, embeddings: emb, textOnlyEmbeddings: emb, layerFeatures: lf, textOnlyLayerFeatures: lf)
    }

    /// Trains small heads for 12 epochs on `data(96, seed: 1)`, selected on `val`; returns them and
    /// the `key` figure of every epoch's progress line.
    static func trainTwelveEpochs(_ configure: (inout HeadsTrainingConfiguration) -> Void, val: HeadsTrainingData,
                                  figure key: String) throws -> (heads: EmotionHeads, epochs: [Double]) {
        var cf = HeadsTrainingConfiguration()
        cf.hidden = 8; cf.maxEpochs = 12; cf.patience = 12; cf.batchSize = 8
        configure(&cf)
        var lines: [String] = []
        let heads = HeadsTrainer.train(train: data(96, seed: 1), val: val,
                                       provenance: HeadsProvenance(version: "t", trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: ""),
                                       configuration: cf) { lines.append($0) }
        let epochs = try lines.filter { $0.hasPrefix("epoch") }.map { line in
            let rest = try #require(line.range(of: key)).upperBound
            return try #require(Double(line[rest...].split(separator: " ")[0]))
        }
        return (heads, epochs)
    }

    /// With selection weight 1 the kept epoch has the best val macro-F1 of all epochs; with 0 the
    /// best text-only macro-F1 (the progress lines give every epoch's figures).
    @Test(arguments: [Float(0), 1])
    func keepsTheEpochWithTheBestWeightedScore(weight: Float) throws {
        let (heads, epochs) = try Self.trainTwelveEpochs({ cf in
            cf.selectionWeight = weight; cf.encoderLayers = [2, 3]; cf.layerFeatureScale = 0.5
        }, val: Self.data(48, seed: 2), figure: weight == 1 ? "val macro-F1 " : "text-only ")
        #expect(epochs.count == 12)
        let kept = weight == 1 ? heads.manifest.validation.emotionMacroF1 : heads.manifest.validation.emotionMacroF1TextOnly
        #expect(abs(Double(try #require(kept)) - epochs.max()!) < 0.0006)
        #expect(heads.manifest.training["selection"]?.hasPrefix("\(weight) ×") == true)
    }

    /// Selected on the turns with emoji, the kept epoch is the one whose heads score best on those
    /// turns alone (recomputed here from the returned heads).
    @Test func aMemberForTurnsWithEmojiIsSelectedOnThem() throws {
        let val = Self.data(48, seed: 2)
        let (heads, selection) = try Self.trainTwelveEpochs({ $0.selectionTurns = .withEmoji }, val: val, figure: "selection ")
        #expect(selection.count == 12)
        let z = heads.network.forward(HeadsTrainer.features(val, builder: heads.builder, textOnly: false), batch: val.turns.count).z
        let p = EmotionHeads.predictions(logits: z, batch: val.turns.count)
        let rows = val.turns.indices.filter { val.turns[$0].text.contains("😡") }
        #expect(rows.count == 24)
        let f1 = macroF1(predicted: rows.map { p[$0].label.index }, actual: rows.map { val.turns[$0].emotion.index }, classes: PlutchikEmotion.count)
        #expect(abs(Double(f1) - selection.max()!) < 0.0006)
        #expect(heads.manifest.training["selection"] == "val emotion macro-F1 on the turns with emoji")
    }

    /// Trained for a fixed number of epochs (the refit), the heads are exactly those an
    /// early-stopped run kept when that epoch was its best: same seed, same steps, the last kept.
    @Test func aFixedEpochCountGivesTheWeightsOfThatEpoch() throws {
        let val = Self.data(48, seed: 2)
        let (selected, _) = try Self.trainTwelveEpochs({ $0.learningRate = 0.03; $0.selectionWeight = 1 }, val: val, figure: "selection ")
        let best = selected.manifest.bestEpoch
        #expect(best < 12, "the test wants an early best epoch, so that the fixed run must stop there")
        var lines: [String] = []
        var cf = HeadsTrainingConfiguration()
        cf.hidden = 8; cf.batchSize = 8; cf.learningRate = 0.03; cf.fixedEpochs = best
        let fixed = HeadsTrainer.train(train: Self.data(96, seed: 1), val: val,
                                       provenance: HeadsProvenance(version: "t", trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: ""),
                                       configuration: cf) { lines.append($0) }
        #expect(lines.count == best && lines.allSatisfy { $0.contains("fixed epochs, no selection") })
        #expect(fixed.manifest.bestEpoch == best)
        #expect(fixed.network.w1 == selected.network.w1 && fixed.network.w2 == selected.network.w2)
        #expect(fixed.network.b1 == selected.network.b1 && fixed.network.b2 == selected.network.b2)
    }

    /// Refit heads carry the selected fit's val figures (the refit has seen val), note the refit,
    /// and keep their own weights and word channel; a given fusion weight is used as is.
    @Test func refitHeadsKeepTheSelectedFitsValFigures() throws {
        var rng = SeededGenerator(seed: 9)
        let train = Self.data(64, seed: 4), val = Self.data(32, seed: 5, dialoguePrefix: "v")
        let all = train.appending(val)
        #expect(all.turns.count == 96 && all.turns.last?.text == val.turns.last?.text && all.layerFeatures.count == 96)
        let selected = HeadsTrainer.addLexicalHead(to: Self.heads(layers: [], rng: &rng), train: train, val: val, minCount: 1)
        let refit = HeadsTrainer.addLexicalHead(to: Self.heads(layers: [], rng: &rng), train: all, val: val, minCount: 1, fusionWeight: 0.3)
        #expect(refit.manifest.lexicalHead?.fusionWeight == 0.3)
        let shipped = HeadsTrainer.refitted(refit, selected: selected, memberEpochs: [7, 9], turns: all.turns.count)
        #expect(shipped.manifest.validation == selected.manifest.validation)
        #expect(shipped.manifest.training["lexical_head"] == selected.manifest.training["lexical_head"])
        #expect(shipped.manifest.validation != refit.manifest.validation)
        #expect(shipped.manifest.training["refit"]?.hasPrefix("weights refit on train + val (96 turns) for each member's selected epoch count (7,9), word channel \(try #require(refit.manifest.lexicalHead).vocabulary.count) words") == true)
        #expect(shipped.network.w1 == refit.network.w1 && shipped.manifest.lexicalHead == refit.manifest.lexicalHead)
    }

    /// The refit's cross-validation holds out whole val dialogues, one fold at a time: each fit sees
    /// all of train and every val dialogue but its fold's, and each val turn is scored by the heads
    /// that did not see it (checked against predicting each fold with its own heads).
    @Test func crossValidationScoresEachValTurnWithHeadsThatDidNotSeeIt() throws {
        let train = Self.data(48, seed: 4), val = Self.data(40, seed: 5, dialoguePrefix: "v")
        let fold = val.fold(3)
        #expect(Set(fold) == [0, 1, 2])
        for (i, t) in val.turns.enumerated() { #expect(fold[i] == fold[val.turns.firstIndex { $0.dialogueID == t.dialogueID }!]) }
        var rng = SeededGenerator(seed: 11)
        var fits: [(seen: Set<String>, heads: EmotionHeads)] = []
        let report = HeadsTrainer.crossValidatedRefit(train: train, val: val, folds: 3) { data in
            #expect(data.turns.count == data.layerFeatures.count)
            fits.append((Set(data.turns.map(\.dialogueID)), Self.heads(layers: [2, 3], rng: &rng)))
            return fits.last!.heads
        }
        #expect(fits.count == 3)
        var full = [EmotionPrediction?](repeating: nil, count: val.turns.count), textOnly = full
        for (k, f) in fits.enumerated() {
            #expect(train.turns.allSatisfy { f.seen.contains($0.dialogueID) })
            #expect(val.turns.indices.allSatisfy { f.seen.contains(val.turns[$0].dialogueID) == (fold[$0] != k) })
            let held = val.turns.indices.filter { fold[$0] == k }
            let p = val.subset(held).predictions(by: f.heads)
            for (j, i) in held.enumerated() { full[i] = p.full[j]; textOnly[i] = p.textOnly[j] }
        }
        let want = EvaluationReport.emotion(predictions: full.map { $0! }, textOnly: textOnly.map { $0! },
                                            labels: val.turns.map(\.emotion), sarcasm: val.turns.map(\.sarcasm))
        #expect(report == want && report.n == 40)
    }

    static func heads(layers: [Int], rng: inout SeededGenerator) -> EmotionHeads {
        let builder = HeadsFeatureBuilder(embeddingDimension: 4, vocabulary: vocabulary, embeddingScale: 1, layerDimension: 4 * layers.count)
        let net = HeadsNetwork(inputs: builder.count, hidden: 5, rng: &rng)
        let manifest = HeadsManifest(version: "t", created: "", seed: 7, trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "",
                                     embeddingDimension: 4, embeddingScale: 1, encoderLayers: layers, hidden: 5, inputs: builder.count,
                                     emojiVocabulary: vocabulary, weightsFile: "heads.f32", weightsSHA256: "", bestEpoch: 1,
                                     validation: EvaluationReport(n: 0), training: [:])
        return EmotionHeads(manifest: manifest, network: net, builder: builder)
    }

    /// The prediction of members whose logits are averaged: emotion log-probabilities averaged
    /// (equal to averaged logits up to a constant), sarcasm and intensity logits averaged.
    static func averaged(_ p: [EmotionPrediction]) -> EmotionPrediction {
        func logit(_ x: Float) -> Float { log(x / (1 - x)) }
        func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
        let k = Float(p.count)
        let z = (0..<PlutchikEmotion.count).map { c in p.reduce(0) { $0 + log($1.probabilities[c]) } / k }
        let m = z.max()!, e = z.map { exp($0 - m) }, s = e.reduce(0, +)
        return EmotionPrediction(probabilities: e.map { $0 / s }, sarcasm: sigmoid(p.reduce(0) { $0 + logit($1.sarcasm) } / k),
                                 intensity: sigmoid(p.reduce(0) { $0 + logit($1.intensity) } / k))
    }

    /// The routed network gives the emoji members' averaged outputs for a turn with emoji and the
    /// text members' (with layer features) for one without, with one or several members a side.
    @Test(arguments: [1, 2])
    func routingPicksTheMembersByEmoji(membersPerSide: Int) throws {
        var rng = SeededGenerator(seed: 7)
        let plain = (0..<membersPerSide).map { _ in Self.heads(layers: [], rng: &rng) }
        let layered = (0..<membersPerSide).map { _ in Self.heads(layers: [2, 3], rng: &rng) }
        let val = Self.data(16, seed: 3)
        func side(_ m: [EmotionHeads]) -> EmotionHeads { m.count == 1 ? m[0] : HeadsTrainer.ensemble(m, val: val) }
        let (net, first) = HeadsTrainer.routed(emoji: side(plain), text: side(layered), gate: 100)
        let routed = EmotionHeads(manifest: first.manifest, network: net, builder: first.builder)
        var ctx = DialogueContext()
        ctx.append(embedding: [0.1, 0.2, -0.3, 0.4], speaker: "a", emoji: EmojiFeatures(text: "🙄", vocabulary: Self.vocabulary))
        let e: [Float] = [0.5, -0.5, 0.5, 0.5], lf: [Float] = [1, -2, 0.5, 3, -1, 0, 2, 1]
        for text in ["so angry 😡", "fine", "odd 🧨"] {
            let emoji = EmojiFeatures(text: text, vocabulary: Self.vocabulary)
            let got = routed.predict(embedding: e, layerFeatures: lf, text: text, emojiFeatures: emoji, context: ctx, speaker: "b")
            let hasEmoji = !(emoji.indices.isEmpty && emoji.values.allSatisfy { $0 == 0 })
            let want = Self.averaged(hasEmoji
                ? plain.map { $0.predict(embedding: e, text: text, emojiFeatures: emoji, context: ctx, speaker: "b") }
                : layered.map { $0.predict(embedding: e, layerFeatures: lf, text: text, emojiFeatures: emoji, context: ctx, speaker: "b") })
            #expect(zip(got.probabilities, want.probabilities).map { abs($0 - $1) }.max()! < 1e-4, "\(text)")
            #expect(abs(got.sarcasm - want.sarcasm) < 1e-4 && abs(got.intensity - want.intensity) < 1e-4, "\(text)")
        }
    }
}
