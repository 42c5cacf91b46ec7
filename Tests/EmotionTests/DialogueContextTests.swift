import Foundation
import Testing
import Contracts
@testable import Emotion

@Suite struct DialogueContextTests {
    @Test func persistsSmallAndRoundTrips() throws {
        var rng = SeededGenerator(seed: 9)
        var ctx = DialogueContext()
        let vocab = EmojiVocabulary(symbols: ["😡"])
        for i in 0..<12 {
            var e = (0..<384).map { _ in rng.nextGaussian() }
            let norm = e.reduce(0) { $0 + $1 * $1 }.squareRoot()
            e = e.map { $0 / norm }
            ctx.append(embedding: e, speaker: "speaker-\(i % 2)", emoji: EmojiFeatures(text: "😡", vocabulary: vocab))
        }
        let data = try JSONEncoder().encode(ctx)
        #expect(data.count <= 1536, "persisted context is \(data.count) bytes")
        #expect(try JSONDecoder().decode(DialogueContext.self, from: data) == ctx)
        #expect(ctx.turns == 12 && ctx.previousSpeaker == "speaker-1" && ctx.previousEmoji == [0])
    }

    @Test func summaryIsTheMeanForTheFirstTurns() {
        var ctx = DialogueContext()
        ctx.append(embedding: [1, 0], speaker: "a")
        ctx.append(embedding: [0, 1], speaker: "b")
        let s = ctx.summary!.floats
        #expect(abs(s[0] - 0.5) < 0.01 && abs(s[1] - 0.5) < 0.01)
        #expect(ctx.previous!.floats == [0, 1])
    }
}
