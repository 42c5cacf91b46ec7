import Contracts
import Emotion
import Foundation

extension HeadsTrainer {
    /// `heads` with the neutral gate's output row refitted so that having context cannot read as
    /// "emotional". Every seed turn is emotional, so a gate trained on them learns that a turn with
    /// earlier turns is not neutral; here the row is fitted instead, as L2-regularised logistic
    /// regression on the network's hidden activations, to `train`'s comments only (neutral or not),
    /// each once alone and once placed after a stretch of one of `conversations` (a chat corpus's;
    /// `HeadsTrainingData.placedContext`). Only the neutral row changes; classes,
    /// sarcasm and intensity are untouched. The gate is calibrated again afterwards
    /// (`addEmbeddingHead` blends and Platt-scales it).
    public static func refittingGateInDialogue(_ heads: EmotionHeads, train: HeadsTrainingData, conversations: [HeadsTrainingData.Conversation],
                                               l2: Float = 1e-3, seed: UInt64 = 42, progress: (String) -> Void = { _ in }) -> EmotionHeads {
        precondition(!train.comments.isEmpty && !conversations.isEmpty, "refitting the gate needs comments and conversations")
        let builder = heads.builder, net = heads.network, d = builder.count, m = train.comments.count
        var rng = SeededGenerator(seed: seed)
        var examples: [EmbeddingHead.Example] = []
        examples.reserveCapacity(2 * m)
        let chunk = 2048
        for placed in [false, true] {
            for start in stride(from: 0, to: m, by: chunk) {
                let rows = start..<min(m, start + chunk)
                var x = [Float](repeating: 0, count: rows.count * d)
                for (r, i) in rows.enumerated() {
                    let (context, speaker) = placed ? HeadsTrainingData.placedContext(conversations, rng: &rng) : (DialogueContext(), "comment")
                    var slice = x[(r * d)..<((r + 1) * d)]
                    builder.write(into: &slice, embedding: train.commentEmbeddings[i],
                                  layerFeatures: builder.layerDimension == 0 ? [] : train.commentLayerFeatures[i],
                                  emoji: EmojiFeatures(text: train.comments[i].text, vocabulary: builder.vocabulary), context: context, speaker: speaker)
                    x.replaceSubrange((r * d)..<((r + 1) * d), with: slice)
                }
                let h = net.forward(x, batch: rows.count).h
                for (r, i) in rows.enumerated() {
                    examples.append(.init(embedding: Array(h[(r * net.hidden)..<((r + 1) * net.hidden)]), neutral: train.comments[i].neutral))
                }
            }
            progress("gate in dialogue: hidden activations of \(m) comments \(placed ? "after conversation turns" : "alone")")
        }
        let fit = EmbeddingHead.train(examples, l2: l2, neutralL2: l2, progress: { progress("gate in dialogue, " + $0) })
        let (w, b) = fit.row(EmbeddingHead.neutralRow)
        var w2 = net.w2, b2 = net.b2
        let k = HeadsNetwork.neutralOutput
        w2.replaceSubrange((k * net.hidden)..<((k + 1) * net.hidden), with: w)
        b2[k] = b
        let refitted = HeadsNetwork(inputs: net.inputs, hidden: net.hidden, w1: net.w1, b1: net.b1, w2: w2, b2: b2)
        var manifest = heads.manifest
        manifest.training["gate_in_dialogue"] = "neutral row refitted on the hidden activations of \(m) comments, alone and after 1-8 turns of "
            + "\(conversations.count) chat-corpus conversations (the seed turns left out), L2 \(l2) on standardised activations"
        return EmotionHeads(manifest: manifest, network: refitted, builder: builder, lexicalHead: heads.lexicalHead,
                            embeddingHead: heads.embeddingHead, encoderAdapterDirectory: heads.encoderAdapterDirectory)
    }
}
