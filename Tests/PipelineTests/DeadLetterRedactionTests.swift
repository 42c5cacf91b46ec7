import Foundation
import Kafka
import Testing
@testable import Pipeline

/// A dead letter carries the record redacted, with the counts in a header; `dlq.keep_original`
/// (`deadLetterKeepsOriginal`) keeps the original bytes.
@Suite("Dead letters are redacted unless the operator keeps the original", .serialized)
struct DeadLetterRedactionTests {
    @Test(.timeLimit(.minutes(1)), arguments: [false, true])
    func deadLetterValue(keepOriginal: Bool) async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 1) { $0.deadLetterKeepsOriginal = keepOriginal }
        let bad = #"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"mail me at john@example.com","role":"boss"}"#
        let (_, audited, dlq) = try await CrashLoopTests.run(pipeline, [CrashLoopTests.turn("d", 1), bad])
        #expect(audited.count == 1)
        try #require(dlq.count == 1)
        let value = String(decoding: dlq[0].value ?? [], as: UTF8.self)
        #expect(value.contains("john@example.com") == keepOriginal)
        #expect(value.contains("[EMAIL]") == !keepOriginal)
        #expect(dlq[0].header("plutchik.redacted") == (keepOriginal ? nil : "email=1"))
        #expect(dlq[0].header("plutchik.error.code") == "invalid_field")
    }
}
