import Kafka
import Tracing

/// Reads a trace context from a Kafka record's headers (W3C `traceparent`/`tracestate`, or
/// whatever keys the tracer's propagator uses).
struct KafkaHeadersExtractor: Extractor {
    func extract(key: String, from carrier: [KafkaHeader]) -> String? {
        carrier.first { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Writes a trace context into an outgoing message's headers, replacing a header of the same key.
struct KafkaHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [KafkaHeader]) {
        carrier.removeAll { $0.key == key }
        carrier.append(KafkaHeader(key: key, string: value))
    }
}
