import Foundation
import Contracts
import Emotion
import Escalation

extension HeadsTrainer {
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
