import Kafka
import InMemoryTracing
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

@Suite("Tracing turns")
struct TurnTracingTests {
    @Test("with a tracer, each analyzed turn is a span, child of its record's context, and its event carries the span's context",
          .timeLimit(.minutes(1)))
    func spansPerTurn() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 2)
        let topic = pipeline.config.inputTopic
        // Dialogues d0–d4 arrive with a trace context, d5–d9 without.
        let messages = (0..<10).map { d in
            let headers = d < 5 ? [KafkaHeader(key: InMemoryTracer.traceIDKey, string: "trace-d\(d)"),
                                   KafkaHeader(key: InMemoryTracer.spanIDKey, string: "parent-d\(d)")] : []
            return KafkaProducerMessage(topic: topic, key: Array("d\(d)".utf8), value: Array(CrashLoopTests.turn("d\(d)", 1).utf8), headers: headers)
        }
        _ = try await pipeline.producer.sendAll(messages)
        let tracer = InMemoryTracer()
        try pipeline.start(KeywordAnalyzer(), tracer: tracer)
        try await pipeline.waitForTurns(10, timeout: .seconds(40))
        try await pipeline.stop()

        let spans = tracer.finishedSpans
        #expect(spans.count == 10 && spans.allSatisfy { $0.operationName == "plutchik.turn" && $0.kind == .consumer })
        let events = try await readAll(pipeline.cluster, topic: pipeline.config.eventsTopic, count: 10, logger: harnessLogger)
        #expect(events.count == 10)
        for event in events {
            let dialogue = String(decoding: event.key ?? [], as: UTF8.self), d = Int(dialogue.dropFirst()) ?? -1
            let span = try #require(spans.first { $0.spanID == event.header(InMemoryTracer.spanIDKey) }, "\(dialogue): no span")
            #expect(event.header(InMemoryTracer.traceIDKey) == span.traceID)
            if d < 5 {
                #expect(span.traceID == "trace-\(dialogue)" && span.parentSpanID == "parent-\(dialogue)", "\(dialogue)")
            } else {
                #expect(span.parentSpanID == nil, "\(dialogue) had no context: a new trace")
            }
        }
    }
}
