import Foundation
import Testing
import Contracts
@testable import Training

@Suite struct DerailmentFineTunerTests {
    /// Conversations whose last comment holds "hate" or "awful" derail; the others do not. A tiny
    /// encoder fine-tuned on four folds must rank the fifth's conversations well above chance, and
    /// its context tokens must sit between [CLS] and the comment's own tokens.
    @Test func learnsASeparableCueOutOfFold() throws {
        let (dir, _) = try EncoderFineTunerTests.fixtures()
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 11)
        let calm = ["great", "thanks", "love", "okay", "fine", "good", "yes", "sure"]
        var turns: [CorpusTurn] = []
        for d in 0..<80 {
            let derails = d % 2 == 0
            for t in 0..<2 {
                var words = (0..<4).map { _ in calm[Int(rng.next() % UInt64(calm.count))] }
                if t == 1 && derails { words[Int(rng.next() % 4)] = rng.next() % 2 == 0 ? "hate" : "awful" }
                turns.append(CorpusTurn(dialogueID: "c\(d)", turnID: t, speaker: "u\(t)", text: words.joined(separator: " "),
                                        timestamp: Double(60 * t), derails: derails))
            }
        }
        var cf = DerailmentFineTuningConfiguration()
        cf.layers = 1; cf.rank = 2; cf.alpha = 4; cf.epochs = 15; cf.batchSize = 8; cf.maxTokens = 16; cf.threads = 1
        cf.adapterLearningRate = 5e-3; cf.headLearningRate = 2e-2
        let tuner = try DerailmentFineTuner(modelDirectory: dir, adapter: nil, configuration: cf, config: TinyEncoder.config)
        let (epochs, scores) = tuner.crossValidate(turns)
        #expect(epochs.count == 15 && scores.count == 80)
        #expect(epochs.last!.auroc > 0.85, "out-of-fold AUROC \(epochs.last!.auroc)")
        #expect(epochs.last!.trainLoss < epochs.first!.trainLoss)

        var withContext = cf
        withContext.contextTurns = 1
        let ctx = try DerailmentFineTuner(modelDirectory: dir, adapter: nil, configuration: withContext, config: TinyEncoder.config)
        let ids = ctx.encode(["hate it"], "good")
        let own = ctx.tokenizer.encode("good", maxLength: 16), prev = ctx.tokenizer.encode("hate it", maxLength: 16)
        let expected: [Int32] = [own[0]] + Array(prev[1..<(prev.count - 1)]) + [own[own.count - 1]] + Array(own[1...])
        #expect(ids == expected)
    }
}
