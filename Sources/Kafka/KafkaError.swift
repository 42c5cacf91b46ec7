import CRdKafka

/// An error from the Kafka layer, carrying librdkafka's code and text.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in a form code can switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// A configuration property was rejected; the message names the key.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// No broker answered within the allowed time.
        public static let brokerUnreachable = Code("broker_unreachable")
        /// librdkafka returned an error; see ``KafkaError/rdKafkaCode``.
        public static let rdKafka = Code("rdkafka")
        /// The client was closed.
        public static let closed = Code("closed")
    }

    /// The kind of error.
    public var code: Code
    /// A human-readable message.
    public var message: String
    /// librdkafka's numeric error code (`rd_kafka_resp_err_t`), when it came from librdkafka.
    public var rdKafkaCode: Int32?
    /// librdkafka's symbolic error name, e.g. `_TRANSPORT` or `UNKNOWN_TOPIC_OR_PART`.
    public var rdKafkaName: String?
    /// The client is unusable after this error and must be recreated.
    public var isFatal: Bool
    /// Retrying the operation may succeed.
    public var isRetriable: Bool
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    public init(
        _ code: Code, _ message: String,
        isFatal: Bool = false, isRetriable: Bool = false, cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.cause = cause
    }

    /// An error for a librdkafka response code.
    init(rdKafka err: rd_kafka_resp_err_t, _ context: String, isFatal: Bool = false) {
        self.init(.rdKafka, "\(context): \(String(cString: rd_kafka_err2str(err)))", isFatal: isFatal,
                  isRetriable: Self.retriable(err))
        self.rdKafkaCode = err.rawValue
        self.rdKafkaName = String(cString: rd_kafka_err2name(err))
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, _ context: String) {
        let err = rd_kafka_error_code(error)
        self.init(.rdKafka, "\(context): \(String(cString: rd_kafka_error_string(error)))",
                  isFatal: rd_kafka_error_is_fatal(error) != 0,
                  isRetriable: rd_kafka_error_is_retriable(error) != 0)
        self.rdKafkaCode = err.rawValue
        self.rdKafkaName = String(cString: rd_kafka_err2name(err))
        rd_kafka_error_destroy(error)
    }

    static func retriable(_ err: rd_kafka_resp_err_t) -> Bool {
        switch err {
        // _MSG_TIMED_OUT: a delivery report failed because the broker stayed unreachable longer than
        // `message.timeout.ms`; sending again is safe (the idempotent producer bumps its epoch).
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
             RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
             RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
             RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
             RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
             RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR__WAIT_COORD:
            return true
        default:
            return false
        }
    }

    public var description: String {
        var s = "KafkaError(\(code)"
        if let rdKafkaName { s += " \(rdKafkaName)" }
        s += "): \(message)"
        if isFatal { s += " [fatal]" }
        if let cause { s += " (cause: \(cause))" }
        return s
    }
}
