import Foundation
import Kafka
import Testing
@testable import Pipeline
import Redaction

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

    /// A dead letter whose record names its tenant is redacted by that tenant's policy: acme's own
    /// pattern applies to acme's record; a record without a readable tenant gets the default.
    @Test(.timeLimit(.minutes(1)))
    func tenantPolicyOfTheRecord() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 1)
        let account = try CustomPattern(name: "account", pattern: "ACC-[0-9]{6}")
        pipeline.tenantPolicies.policies = TenantPolicies(tenants: ["acme": TenantPolicy(redaction: RedactionPolicy(customPatterns: [account]))])
        let acme = #"{"dialogue_id":"x","turn_id":1,"speaker":"c","tenant":"acme","text":"account ACC-123456","role":"boss"}"#
        let other = #"{"dialogue_id":"y","turn_id":1,"speaker":"c","text":"account ACC-654321","role":"boss"}"#
        let (_, _, dlq) = try await CrashLoopTests.run(pipeline, [acme, other])
        try #require(dlq.count == 2)
        let values = dlq.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(values.contains { $0.contains("account [ACCOUNT]") } && !values.contains { $0.contains("ACC-123456") }, "\(values)")
        #expect(values.contains { $0.contains("ACC-654321") }, "the default policy has no such pattern: \(values)")
    }
}
