/// Settings shared by every Kafka client.
///
/// Typed fields cover the common settings; ``properties`` passes any other librdkafka
/// property through unchanged (SASL, SSL, tuning), as in every librdkafka client.
/// Properties win over typed fields when both name the same key.
public struct KafkaConfiguration: Sendable {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    public var bootstrapServers: String
    /// `client.id`.
    public var clientID: String = "plutchik-stream"
    /// How long ``KafkaConsumer/waitUntilReachable(timeout:)`` and friends wait for a broker.
    public var connectTimeout: Duration = .seconds(10)
    /// Any librdkafka property, by its librdkafka name (see librdkafka's CONFIGURATION.md).
    public var properties: [String: String] = [:]

    public init(bootstrapServers: String, properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
    }

    var baseProperties: [String: String] {
        ["bootstrap.servers": bootstrapServers, "client.id": clientID]
    }
}

/// Settings for a ``KafkaConsumer``, a consumer-group member.
public struct KafkaConsumerConfiguration: Sendable {
    /// Where an unknown offset starts.
    public enum OffsetReset: String, Sendable {
        case earliest, latest
    }

    /// How the group assigns partitions.
    public enum AssignmentStrategy: String, Sendable {
        case range, roundrobin
        case cooperativeSticky = "cooperative-sticky"
    }

    public var common: KafkaConfiguration
    /// `group.id`.
    public var groupID: String
    /// Topics to subscribe to.
    public var topics: [String]
    /// `auto.offset.reset`.
    public var autoOffsetReset: OffsetReset = .earliest
    /// `partition.assignment.strategy`.
    public var assignmentStrategy: AssignmentStrategy = .cooperativeSticky
    /// `session.timeout.ms`: how long the group waits for a silent member before rebalancing.
    public var sessionTimeout: Duration = .seconds(10)
    /// `heartbeat.interval.ms`.
    public var heartbeatInterval: Duration = .seconds(1)
    /// `fetch.wait.max.ms`: how long a broker may hold a fetch while it has no new data. Short, for
    /// latency: a turn waits at most this long to be fetched (librdkafka's default is 500 ms).
    public var fetchWaitMax: Duration = .milliseconds(20)
    /// How many events the consumer buffers ahead of the caller before it pauses fetching; it resumes
    /// at half. It keeps polling meanwhile, so rebalances are served, and a revocation drops the
    /// buffered records of the partitions leaving rather than waiting behind them. Keep half of it
    /// above what the caller consumes in about a second: librdkafka discards its prefetched records
    /// on pause and, on resume, takes up to ~0.5 s to fetch again.
    public var bufferCapacity: Int = 2048

    public init(bootstrapServers: String, groupID: String, topics: [String]) {
        self.common = KafkaConfiguration(bootstrapServers: bootstrapServers)
        self.groupID = groupID
        self.topics = topics
    }

    func rdKafkaProperties() throws -> [String: String] {
        var p = common.baseProperties
        p["group.id"] = groupID
        p["auto.offset.reset"] = autoOffsetReset.rawValue
        p["partition.assignment.strategy"] = assignmentStrategy.rawValue
        p["session.timeout.ms"] = String(sessionTimeout.milliseconds)
        p["heartbeat.interval.ms"] = String(heartbeatInterval.milliseconds)
        p["enable.partition.eof"] = "false"
        p["fetch.wait.max.ms"] = String(fetchWaitMax.milliseconds)
        p.merge(common.properties) { _, new in new }
        // Offsets are committed only for records the caller has finished: never automatically.
        if let v = p["enable.auto.commit"], v != "false" {
            throw KafkaError(.invalidConfiguration,
                             "enable.auto.commit=\(v) is not allowed: offsets are committed explicitly after processing")
        }
        p["enable.auto.commit"] = "false"
        p["enable.auto.offset.store"] = "false"
        return p
    }
}

/// Settings for a ``KafkaProducer``.
public struct KafkaProducerConfiguration: Sendable {
    public var common: KafkaConfiguration
    /// `enable.idempotence`: on by default, so retries never duplicate or reorder.
    public var idempotence: Bool = true
    /// `linger.ms`: how long to wait to fill a batch.
    public var linger: Duration = .milliseconds(5)
    /// `message.timeout.ms`: how long a message may wait for delivery before its report fails.
    public var messageTimeout: Duration = .seconds(30)
    /// How long ``KafkaProducer/close()`` waits for outstanding messages.
    public var flushTimeout: Duration = .seconds(30)

    public init(bootstrapServers: String) {
        self.common = KafkaConfiguration(bootstrapServers: bootstrapServers)
    }

    /// `message.max.bytes` as configured (librdkafka's default, 1,000,000, when not set): the
    /// largest message this producer will send.
    public var messageMaxBytes: Int { common.properties["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000 }

    func rdKafkaProperties() -> [String: String] {
        var p = common.baseProperties
        p["enable.idempotence"] = idempotence ? "true" : "false"
        p["linger.ms"] = String(linger.milliseconds)
        p["message.timeout.ms"] = String(messageTimeout.milliseconds)
        p.merge(common.properties) { _, new in new }
        return p
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
