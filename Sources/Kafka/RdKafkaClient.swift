import CRdKafka
import Foundation
import Logging

/// One librdkafka handle and the callbacks it calls.
///
/// The handle's opaque pointer is this object, so the C callbacks find their way back.
/// librdkafka calls the callbacks on its own threads or inside poll calls: never on
/// Swift's cooperative pool.
final class RdKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let logger: Logger
    let bootstrapServers: String

    /// Called inside `rd_kafka_consumer_poll`/`rd_kafka_consumer_close` on rebalance.
    var onRebalance: ((rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    /// Called inside `rd_kafka_poll` for each delivery report.
    var onDelivery: ((UnsafePointer<rd_kafka_message_t>) -> Void)?

    private let lock = NSLock()
    private var _lastError: String?

    /// The most recent error librdkafka reported through its error callback.
    var lastError: String? { lock.withLock { _lastError } }

    /// Creates a handle. `configure` runs before `rd_kafka_new` so the caller can set callbacks.
    init(
        type: rd_kafka_type_t, properties: [String: String], logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws {
        self.logger = logger
        self.bootstrapServers = properties["bootstrap.servers"] ?? ""
        let conf = rd_kafka_conf_new()!
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(.invalidConfiguration, "\(key): \(string(fromCBuffer: errstr))")
            }
        }
        configure(conf)
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
            guard let client = rdKafkaClient(fromOpaque: opaque) else { return }
            client.recordError(rd_kafka_resp_err_t(err), reason.map { String(cString: $0) } ?? "")
        }
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let client = rdKafkaClient(fromOpaque: rd_kafka_opaque(rk)) else { return }
            let text = message.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            let lvl: Logger.Level = level <= 3 ? .error : level <= 4 ? .warning : level <= 6 ? .info : .debug
            client.logger.log(level: lvl, "rdkafka log", metadata: ["kafka.facility": "\(fac)", "kafka.message": "\(text)"])
        }
        // The opaque must be set before the handle exists; fill it in through a box.
        let box = OpaqueBox()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(box).toOpaque())
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            // On failure the conf is still ours.
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.invalidConfiguration, string(fromCBuffer: errstr))
        }
        self.handle = rk
        self.box = box
        box.client = self
    }

    /// The callbacks' opaque; lives as long as the handle.
    private let box: OpaqueBox

    func recordError(_ err: rd_kafka_resp_err_t, _ reason: String) {
        lock.withLock { _lastError = reason }
        if err == RD_KAFKA_RESP_ERR__FATAL {
            var buf = [CChar](repeating: 0, count: 512)
            let fatal = rd_kafka_fatal_error(handle, &buf, buf.count)
            logger.critical("kafka fatal error", metadata: [
                "kafka.error": "\(String(cString: rd_kafka_err2name(fatal)))", "kafka.reason": "\(string(fromCBuffer: buf))",
            ])
        } else {
            logger.warning("kafka error", metadata: [
                "kafka.error": "\(String(cString: rd_kafka_err2name(err)))", "kafka.reason": "\(reason)",
            ])
        }
    }

    /// Asks the cluster for metadata; throws ``KafkaError/Code/brokerUnreachable`` if no broker answers in time.
    /// Blocks the calling thread: call it off the cooperative pool.
    func checkReachable(timeout: Duration) throws {
        var md: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, nil, &md, Int32(clamping: timeout.milliseconds))
        if let md { rd_kafka_metadata_destroy(md) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            var message = "no Kafka broker reachable at \(bootstrapServers) within \(timeout)"
            if let last = lastError { message += " (last error: \(last))" }
            var e = KafkaError(rdKafka: err, message)
            e.code = .brokerUnreachable
            e.message = message
            e.isRetriable = true
            throw e
        }
    }

    /// The fatal error the handle is in, if any.
    func fatalError() -> KafkaError? {
        var buf = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &buf, buf.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(rdKafka: err, string(fromCBuffer: buf), isFatal: true)
    }

    deinit {
        rd_kafka_destroy(handle)
    }
}

/// Holds the client for the C callbacks until the handle exists.
final class OpaqueBox: @unchecked Sendable {
    weak var client: RdKafkaClient?
}

/// Resolves the client from a callback's opaque pointer.
func rdKafkaClient(fromOpaque opaque: UnsafeMutableRawPointer?) -> RdKafkaClient? {
    guard let opaque else { return nil }
    return Unmanaged<OpaqueBox>.fromOpaque(opaque).takeUnretainedValue().client
}

/// Runs a blocking call (a blocking C call, or CPU-heavy work such as the pipeline's analysis) on a
/// thread of its own, outside Swift's cooperative pool; `stackSize` in bytes, the platform's
/// default when nil.
package func runBlocking<T: Sendable>(_ label: String = "kafka.blocking", stackSize: Int? = nil,
                                      _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = label
        if let stackSize { thread.stackSize = stackSize }
        thread.start()
    }
}

/// Decodes a NUL-terminated C string held in a buffer.
func string(fromCBuffer buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
