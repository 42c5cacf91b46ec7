import CRdKafka
import Foundation
import Logging
import Synchronization

/// A record to send.
public struct KafkaProducerMessage: Sendable, Hashable {
    public var topic: String
    /// The partition, or nil to let the partitioner choose by key.
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// The record timestamp in milliseconds since the epoch; nil for the send time.
    public var timestampMs: Int64?

    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
                headers: [KafkaHeader] = [], timestampMs: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    /// An upper bound on the size librdkafka checks against `message.max.bytes`: key, value and
    /// serialised headers, plus a record's framing.
    public var approximateSize: Int {
        (key?.count ?? 0) + (value?.count ?? 0) + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 10 } + 64
    }

    /// A message with a UTF-8 key and value.
    public init(topic: String, key: String?, value: String, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
    }
}

/// Where the broker stored a message.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

/// A producer over librdkafka, idempotent by default.
///
/// ``send(_:)`` returns once the broker has acknowledged the message (its delivery report).
/// A dedicated thread serves librdkafka's delivery callbacks.
public final class KafkaProducer: Sendable {
    let client: RdKafkaClient
    private let configuration: KafkaProducerConfiguration
    private let stopped = Atomic<Bool>(false)
    private let pollThreadDone = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Creates the producer and starts serving delivery reports.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.client = try RdKafkaClient(
            type: RD_KAFKA_PRODUCER, properties: configuration.rdKafkaProperties(), logger: logger
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let slot = Unmanaged<DeliverySlot>.fromOpaque(opaque).takeRetainedValue()
                let m = message.pointee
                if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    slot.batch.complete(slot.index, .success(KafkaDeliveryReport(
                        topic: String(cString: rd_kafka_topic_name(m.rkt)), partition: m.partition, offset: m.offset)))
                } else {
                    slot.batch.complete(slot.index, .failure(KafkaError(rdKafka: m.err, "deliver to \(String(cString: rd_kafka_topic_name(m.rkt)))")))
                }
            }
        }
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) { rd_kafka_poll(client.handle, 100) }
            let waiters = pollThreadDone.withLock { s in
                s.done = true
                defer { s.waiters = [] }
                return s.waiters
            }
            waiters.forEach { $0.resume() }
        }
        thread.name = "kafka.producer.poll"
        thread.start()
    }

    /// The producer's `message.max.bytes`: larger messages are refused with `MSG_SIZE_TOO_LARGE`.
    public var messageMaxBytes: Int { configuration.messageMaxBytes }

    /// Waits until a broker answers a metadata request, or throws a clear error after `timeout`.
    public func waitUntilReachable(timeout: Duration? = nil) async throws {
        let client = self.client
        let t = timeout ?? configuration.common.connectTimeout
        try await runBlocking("kafka.producer.metadata") { try client.checkReachable(timeout: t) }
    }

    /// Sends one message and returns its delivery report.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try await send([message])[0].get()
    }

    /// Sends messages in order and returns each one's delivery result, in the same order.
    /// Throws only if a message could not be enqueued at all.
    public func send(_ messages: [KafkaProducerMessage]) async throws -> [Result<KafkaDeliveryReport, KafkaError>] {
        guard !messages.isEmpty else { return [] }
        guard !stopped.load(ordering: .acquiring) else { throw KafkaError(.closed, "producer is closed") }
        let batch = DeliveryBatch(count: messages.count)
        for (i, message) in messages.enumerated() {
            do {
                try await enqueue(message, DeliverySlot(batch: batch, index: i))
            } catch {
                batch.complete(i, .failure(error as? KafkaError ?? KafkaError(.rdKafka, "\(error)")))
            }
        }
        return await batch.results()
    }

    /// Sends messages and throws the first delivery failure.
    public func sendAll(_ messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
        try await send(messages).map { try $0.get() }
    }

    private func enqueue(_ message: KafkaProducerMessage, _ slot: DeliverySlot) async throws {
        let opaque = Unmanaged.passRetained(slot).toOpaque()
        var backoff = Duration.milliseconds(1)
        while true {
            let err = produce(message, opaque)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !stopped.load(ordering: .acquiring) {
                // librdkafka's queue is full: wait for deliveries to drain it.
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .milliseconds(100))
                continue
            }
            Unmanaged<DeliverySlot>.fromOpaque(opaque).release()
            throw KafkaError(rdKafka: err, "produce to \(message.topic)")
        }
    }

    private func produce(_ message: KafkaProducerMessage, _ opaque: UnsafeMutableRawPointer) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer?
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for h in message.headers {
                if let v = h.value {
                    v.withUnsafeBytes { _ = rd_kafka_header_add(headers, h.key, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, h.key, -1, nil, 0)
                }
            }
        }
        let partition = message.partition ?? Int32(RD_KAFKA_PARTITION_UA)
        let err = withOptionalBytes(message.key) { key in
            withOptionalBytes(message.value) { value in
                plutchik_rd_kafka_produce(
                    client.handle, message.topic, partition,
                    key.baseAddress, key.count, value.baseAddress, value.count,
                    headers, message.timestampMs ?? 0, opaque)
            }
        }
        // On success librdkafka owns the headers; on failure they are still ours.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return err
    }

    /// Waits until every outstanding message is delivered or `timeout` passes.
    public func flush(timeout: Duration? = nil) async throws {
        let client = self.client
        let t = timeout ?? configuration.flushTimeout
        try await runBlocking("kafka.producer.flush") {
            let err = rd_kafka_flush(client.handle, Int32(clamping: t.milliseconds))
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(rdKafka: err, "flush: \(rd_kafka_outq_len(client.handle)) messages still undelivered after \(t)")
            }
        }
    }

    /// Flushes outstanding messages and stops the producer. Idempotent.
    public func close() async throws {
        defer { stopped.store(true, ordering: .releasing) }
        if !stopped.load(ordering: .acquiring) { try await flush() }
        stopped.store(true, ordering: .releasing)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = pollThreadDone.withLock { s -> Bool in
                if s.done { return true }
                s.waiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }
}

/// Collects the delivery results of one `send` call.
final class DeliveryBatch: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<KafkaDeliveryReport, KafkaError>?]
    private var remaining: Int
    private var continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>?

    init(count: Int) {
        results = Array(repeating: nil, count: count)
        remaining = count
    }

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        let resume: (CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>, [Result<KafkaDeliveryReport, KafkaError>])? = lock.withLock {
            results[index] = result
            remaining -= 1
            guard remaining == 0, let c = continuation else { return nil }
            continuation = nil
            return (c, results.map { $0! })
        }
        if let (c, r) = resume { c.resume(returning: r) }
    }

    /// Waits for every message's result.
    func results() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await withCheckedContinuation { c in
            let done: [Result<KafkaDeliveryReport, KafkaError>]? = lock.withLock {
                if remaining == 0 { return results.map { $0! } }
                continuation = c
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }
}

/// One message's place in its batch; retained by librdkafka as the message's opaque.
final class DeliverySlot: @unchecked Sendable {
    let batch: DeliveryBatch
    let index: Int
    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let bytes { return bytes.withUnsafeBytes(body) }
    return body(UnsafeRawBufferPointer(start: nil, count: 0))
}
