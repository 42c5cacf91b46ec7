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

/// The heads' own training: the seed turns' gate loss can be left out, and comments can be shown
/// after real conversation turns.
@Suite struct GateTrainingTests {
    /// With the seed turns training the gate (every one "not neutral"), the gate learns to say
    /// "emotional" for every turn; without, nothing trains it here (no comments) and it stays near 0.
    @Test func seedTurnsTrainTheGateOnlyWhenAsked() throws {
        let val = HeadsTrainerTests.data(48, seed: 2)
        func meanGate(turnGateLoss: Bool) throws -> Float {
            let (heads, _) = try HeadsTrainerTests.trainTwelveEpochs({ $0.turnGateLoss = turnGateLoss; $0.commentShare = 0; $0.learningRate = 0.01 },
                                                                     val: val, figure: "selection ")
            #expect(heads.manifest.training["turn_gate_loss"] == "\(turnGateLoss)")
            let z = heads.network.forward(HeadsTrainer.features(val, builder: heads.builder, textOnly: false), batch: val.turns.count).z
            return val.turns.indices.reduce(0) { $0 + z[$1 * HeadsNetwork.outputs + HeadsNetwork.neutralOutput] } / Float(val.turns.count)
        }
        let with = try meanGate(turnGateLoss: true), without = try meanGate(turnGateLoss: false)
        #expect(with < -2 && abs(without) < 0.5, "mean gate logit \(with) with the turns' gate loss, \(without) without")
    }

    /// Comments placed after conversation turns train the context inputs: the first layer's weights
    /// on the context change, while the same run without conversations leaves comment rows' context at 0.
    @Test func commentsPlacedAfterConversationsReachTheContextInputs() throws {
        var rng = SeededGenerator(seed: 5)
        let comments = (0..<64).map { GoEmotionsComment(id: "c\($0)", text: "comment", labels: [], emotion: .joy, sector: .joy, neutral: $0 % 2 == 0) }
        let train = HeadsTrainerTests.data(96, seed: 1).adding(comments: comments, embeddings: comments.map { _ in (0..<4).map { _ in rng.nextUnit() } })
        var placed = train
        placed.conversations = (0..<10).map { _ in (0..<5).map { t in (speaker: "s\(t % 2)", embedding: (0..<4).map { _ in rng.nextUnit() }) } }
        func fit(_ data: HeadsTrainingData, probability: Float) -> EmotionHeads {
            var cf = HeadsTrainingConfiguration()
            cf.hidden = 8; cf.fixedEpochs = 3; cf.batchSize = 8; cf.commentContextProbability = probability
            return HeadsTrainer.train(train: data, val: HeadsTrainerTests.data(16, seed: 2), provenance: HeadsProvenance(
                version: "t", trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: ""), configuration: cf)
        }
        let plain = fit(placed, probability: 0), inConversation = fit(placed, probability: 1), noConversations = fit(train, probability: 1)
        #expect(plain.network.w1 == noConversations.network.w1, "without conversations the probability changes nothing")
        #expect(inConversation.network.w1 != plain.network.w1)
        #expect(inConversation.manifest.training["comment_context_probability"] == "1.0")
    }
}
