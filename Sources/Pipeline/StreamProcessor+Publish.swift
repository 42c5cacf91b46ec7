import Foundation
import Kafka
import Redaction

// Publishing: every message of a batch sent, the retriable failures retried alone, and what a
// non-retriable error refuses sent to the dead-letter topic instead (truncated to fit), or, if even
// that is refused, noted in `dead_letter_audit`.

extension StreamProcessor {
    /// One message of a finished batch and the record it stands for.
    struct Delivery: Sendable {
        /// `cutDown`: the dead letter is already the short form (1 KiB of value) sent after a refusal.
        enum Kind: Sendable { case event, alert, replay, deadLetter(DeadLetterReason, cutDown: Bool = false) }
        var message: KafkaProducerMessage
        var record: KafkaRecord
        var kind: Kind
    }

    /// Sends `deliveries` and waits for every delivery report. A retriable failure (broker
    /// unreachable, timed out) is retried with backoff, for that message alone, until it is
    /// delivered; the messages a non-retriable error refused come back with it.
    func publish(_ deliveries: [Delivery]) async throws -> [(delivery: Delivery, error: KafkaError)] {
        var pending = deliveries
        var refused: [(delivery: Delivery, error: KafkaError)] = []
        var attempt = 0
        defer { if attempt > 0 { endRetries("publish events", succeeded: pending.isEmpty) } }
        while !pending.isEmpty {
            let results: [Result<KafkaDeliveryReport, KafkaError>]
            do {
                results = try await producer.send(pending.map(\.message))
            } catch let e as KafkaError where e.isRetriable && !e.isFatal {
                results = Array(repeating: .failure(e), count: pending.count)
            }
            var retry: [Delivery] = []
            var lastError: KafkaError?
            for (d, r) in zip(pending, results) {
                guard case .failure(let e) = r else { continue }
                if e.isRetriable && !e.isFatal {
                    retry.append(d)
                    lastError = e
                } else if e.isFatal || e.code == .closed {
                    throw e
                } else {
                    refused.append((d, e))
                }
            }
            pending = retry
            if let lastError {
                attempt += 1
                failed("publish events", "\(lastError) (\(retry.count) of \(results.count) messages)", attempt: attempt)
                try await Task.sleep(for: backoff(attempt))
            }
        }
        return refused
    }

    /// The delivery that dead-letters `record` for `reason`.
    nonisolated func deadLettering(_ record: KafkaRecord, _ reason: DeadLetterReason) -> Delivery {
        Delivery(message: deadLetter(record, reason), record: record, kind: .deadLetter(reason))
    }

    /// The dead-letter message for `record`: its key, value and headers (but any named `plutchik.*`),
    /// plus headers naming the error and the source. The value is redacted as text by its tenant's
    /// policy when the record is a JSON object with a string `tenant` (so that tenant's own
    /// entities and patterns apply), else by the default one (`tenant.*`), unless
    /// `deadLetterKeepsOriginal`; `plutchik.redacted` then
    /// holds the counts (`card=1,phone=2`). Cut to fit the producer's `message.max.bytes`
    /// (and to `valueLimit` bytes of value when given): the original headers go first, then the key
    /// is cut to 1 KiB and the value to what is left; `plutchik.error.truncated` then holds the
    /// value's original size.
    nonisolated func deadLetter(_ r: KafkaRecord, _ reason: DeadLetterReason, valueLimit: Int? = nil) -> KafkaProducerMessage {
        var ours = [
            KafkaHeader(key: "plutchik.error.code", string: reason.code),
            KafkaHeader(key: "plutchik.error.reason", string: String(decoding: reason.reason.utf8.prefix(1024), as: UTF8.self)),
            KafkaHeader(key: "plutchik.source.topic", string: r.topic),
            KafkaHeader(key: "plutchik.source.partition", string: String(r.partition)),
            KafkaHeader(key: "plutchik.source.offset", string: String(r.offset)),
        ]
        // The record's own `plutchik.*` headers are dropped: they must not pass for ours.
        let theirs = r.headers.filter { !$0.key.hasPrefix("plutchik.") }
        var value = r.value
        if !configuration.deadLetterKeepsOriginal, let original = r.value {
            let redacted = tenantPolicies.policies.policy(for: Self.readableTenant(original)).redactor()
                .redact(String(decoding: original, as: UTF8.self))
            if !redacted.counts.isEmpty {
                value = Array(redacted.text.utf8)
                ours.append(KafkaHeader(key: "plutchik.redacted", string: redacted.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")))
            }
        }
        var m = KafkaProducerMessage(topic: configuration.deadLetterTopic, key: r.key, value: value, headers: theirs + ours)
        let limit = configuration.validator.maxMessageBytes
        if let valueLimit, (m.value?.count ?? 0) > valueLimit {
            m.value = m.value.map { Array($0.prefix(valueLimit)) }
        }
        if m.approximateSize > limit { m.headers = ours }
        if m.approximateSize > limit, let key = m.key, key.count > 1024 { m.key = Array(key.prefix(1024)) }
        if m.approximateSize > limit, let value = m.value {
            // Room for the truncation header, too.
            m.value = Array(value.prefix(max(0, limit - (m.approximateSize - value.count) - 64)))
        }
        if m.value?.count != value?.count {
            m.headers.append(KafkaHeader(key: "plutchik.error.truncated", string: String(value?.count ?? 0)))
        }
        return m
    }

    /// The `tenant` of a record that parses as a JSON object and names one as a string; nil otherwise.
    nonisolated static func readableTenant(_ value: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] else { return nil }
        return object["tenant"] as? String
    }
}
