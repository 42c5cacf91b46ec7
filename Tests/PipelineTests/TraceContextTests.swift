import Kafka
import Testing
@testable import Pipeline

@Suite("W3C trace context")
struct TraceContextTests {
    @Test("only a well-formed traceparent is passed on", arguments: [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", true),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false),
        ("", false),
    ])
    func traceparent(value: String, valid: Bool) {
        #expect(StreamProcessor<KeywordAnalyzer>.isTraceParent(value) == valid)
        let record = KafkaRecord(topic: "t", partition: 0, offset: 0, key: nil, value: nil,
                                 headers: [KafkaHeader(key: "traceparent", string: value), KafkaHeader(key: "tracestate", string: "a=1")])
        #expect(StreamProcessor<KeywordAnalyzer>.traceHeaders(record).count == (valid ? 2 : 0))
    }
}
