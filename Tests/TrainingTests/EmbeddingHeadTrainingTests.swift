import Foundation
import Testing
@testable import Contracts
@testable import Emotion
@testable import Training

@Suite struct EmbeddingHeadTrainingTests {
    /// Embeddings around an offset far from the origin, so the standardisation matters: the class
    /// is the sign pattern of the first two coordinates, the sector follows the class, and a row is
    /// neutral when the third coordinate is positive.
    func examples(_ n: Int, seed: UInt64) -> [EmbeddingHead.Example] {
        var rng = SeededGenerator(seed: seed)
        let classes: [PlutchikEmotion] = [.joy, .rage, .terror, .grief]
        return (0..<n).map { _ in
            let x = (0..<4).map { _ in rng.nextGaussian() }
            let k = (x[0] > 0 ? 1 : 0) + (x[1] > 0 ? 2 : 0)
            return .init(embedding: [x[0] * 0.1 + 5, x[1] * 3 - 2, x[2], x[3]], emotion: classes[k].index,
                         sector: classes[k].sector.rawValue, neutral: x[2] > 0)
        }
    }

    @Test func learnsClassSectorAndGateOnRawEmbeddings() {
        let head = EmbeddingHead.train(examples(400, seed: 1), l2: 1e-4, iterations: 300, learningRate: 0.05)
        let test = examples(200, seed: 2)
        var classHits = 0, sectorHits = 0, gateHits = 0
        for ex in test {
            let l = head.logits(ex.embedding)
            let c = PlutchikEmotion.count
            if (0..<c).max(by: { l[$0] < l[$1] }) == ex.emotion { classHits += 1 }
            if (c..<(c + 8)).max(by: { l[$0] < l[$1] })! - c == ex.sector { sectorHits += 1 }
            if (l[EmbeddingHead.neutralRow] > 0) == ex.neutral { gateHits += 1 }
        }
        #expect(classHits >= 180 && sectorHits >= 180 && gateHits >= 180, "\(classHits) \(sectorHits) \(gateHits) of 200")
    }

    @Test func rowsWithoutALabelDoNotTrainThatOutput() {
        // No row has a sector: the sector rows keep their zero start.
        let rows = examples(100, seed: 3).map { EmbeddingHead.Example(embedding: $0.embedding, emotion: $0.emotion, neutral: $0.neutral) }
        let head = EmbeddingHead.train(rows, l2: 1e-3, iterations: 20)
        let l = head.logits([5, -2, 0.5, 0.5])
        #expect(l[PlutchikEmotion.count..<(PlutchikEmotion.count + 8)].allSatisfy { $0 == 0 })
        #expect(l[EmbeddingHead.neutralRow] != 0)
    }

    @Test func theNeutralRowTakesItsOwnPenalty() {
        // A heavier penalty on the gate shrinks its weights and leaves the class and sector rows as they were.
        let rows = examples(200, seed: 4)
        let plain = EmbeddingHead.train(rows, l2: 1e-3, iterations: 100)
        let shrunk = EmbeddingHead.train(rows, l2: 1e-3, neutralL2: 1, iterations: 100)
        let e = rows[0].embedding.count, n = EmbeddingHead.neutralRow
        func norm(_ h: EmbeddingHead) -> Float { h.weights[(n * e)..<((n + 1) * e)].reduce(0) { $0 + $1 * $1 } }
        #expect(norm(shrunk) < 0.5 * norm(plain), "\(norm(shrunk)) vs \(norm(plain))")
        #expect(shrunk.weights[..<(n * e)] == plain.weights[..<(n * e)])
    }
}
