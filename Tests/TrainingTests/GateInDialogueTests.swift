import Foundation
import Testing
@testable import Contracts
@testable import Emotion
@testable import Training

/// `HeadsTrainer.refittingGateInDialogue`: only the gate's row moves, and it learns the comments'
/// neutrality whether or not a conversation comes before them.
@Suite struct GateInDialogueTests {
    @Test func theGateIsRefittedOnCommentsAloneAndInConversationOnly() throws {
        let (heads, _) = try HeadsTrainerTests.trainTwelveEpochs({ cf in
            cf.hidden = 32; cf.encoderLayers = [2, 3]; cf.layerFeatureScale = 0.5
        }, val: HeadsTrainerTests.data(48, seed: 2), figure: "selection ")
        // Comments are neutral when their embedding's last coordinate is high; conversations are noise.
        var rng = SeededGenerator(seed: 9)
        let comments = (0..<600).map { i in GoEmotionsComment(id: "c\(i)", text: "comment \(i)", labels: [], emotion: nil, sector: nil, neutral: i % 2 == 0) }
        let embeddings = comments.map { c in (0..<4).map { j in (j == 3 && c.neutral ? 1.5 : 0) + rng.nextUnit() - 0.5 } }
        let layers = comments.map { _ in (0..<8).map { _ in rng.nextUnit() - 0.5 } }
        let train = HeadsTrainerTests.data(96, seed: 1).adding(comments: comments, embeddings: embeddings, layerFeatures: layers)
        let conversations = (0..<50).map { d in (0..<6).map { t in (speaker: "s\(t % 2)", embedding: (0..<4).map { _ in 2 * rng.nextUnit() - 1 }) } }
        let refitted = HeadsTrainer.refittingGateInDialogue(heads, train: train, conversations: conversations)

        let o = HeadsNetwork.outputs, h = heads.network.hidden, k = HeadsNetwork.neutralOutput
        #expect(refitted.network.w1 == heads.network.w1 && refitted.network.b1 == heads.network.b1)
        for r in 0..<o where r != k {
            #expect(refitted.network.w2[(r * h)..<((r + 1) * h)] == heads.network.w2[(r * h)..<((r + 1) * h)] && refitted.network.b2[r] == heads.network.b2[r])
        }
        #expect(refitted.network.w2[(k * h)..<((k + 1) * h)] != heads.network.w2[(k * h)..<((k + 1) * h)])
        #expect(refitted.manifest.training["gate_in_dialogue"] != nil)

        // The refitted gate ranks the comments by their neutrality, alone and after a conversation.
        func gate(_ context: DialogueContext) -> [Float] {
            refitted.predict(comments.indices.map { i in
                HeadsInput(embedding: embeddings[i], layerFeatures: layers[i], text: comments[i].text,
                           emojiFeatures: refitted.emojiFeatures(text: comments[i].text), context: context, speaker: "x")
            }).map(\.neutral)
        }
        var context = DialogueContext()
        for t in conversations[7].prefix(4) { context.append(embedding: t.embedding, speaker: t.speaker) }
        let labels = comments.map(\.neutral)
        let alone = gate(DialogueContext()), placed = gate(context)
        #expect(auroc(scores: alone, labels: labels) > 0.9 && auroc(scores: placed, labels: labels) > 0.9, "\(auroc(scores: alone, labels: labels)) \(auroc(scores: placed, labels: labels))")
    }
}
