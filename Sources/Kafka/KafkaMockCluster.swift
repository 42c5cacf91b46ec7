import CRdKafka
import Logging

/// librdkafka's built-in mock cluster: real Kafka protocol on loopback, in this process.
///
/// It honours consumer groups, commits, rebalances, the idempotent producer and keyed
/// partitioning. It does not honour transactions, its Admin API times out (create topics with
/// ``createTopic(_:partitions:replicationFactor:)``), and it keeps about 5 MiB per partition.
public final class KafkaMockCluster: @unchecked Sendable {
    private let client: RdKafkaClient
    private let cluster: OpaquePointer

    /// The cluster's bootstrap address list, e.g. `127.0.0.1:41234`.
    public let bootstrapServers: String

    /// Starts a cluster of `brokers` brokers on random loopback ports.
    public init(brokers: Int = 1, logger: Logger) throws {
        // The mock cluster needs a handle to live on; a producer that never produces will do.
        client = try RdKafkaClient(type: RD_KAFKA_PRODUCER, properties: ["bootstrap.servers": ""], logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            throw KafkaError(.rdKafka, "could not start the mock cluster with \(brokers) brokers")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic. Unknown topics are otherwise auto-created with 4 partitions.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(rdKafka: err, "create topic \(name) with \(partitions) partitions")
        }
    }

    /// Starts an outage of the whole cluster: from now on every request is answered by closing
    /// its connection, so clients see their connections drop and every reconnect fail, while
    /// the data and the groups' committed offsets stay. For outage tests; ends with ``endOutage()``.
    ///
    /// librdkafka's `rd_kafka_mock_broker_set_down` is not used: it closes and re-binds the
    /// broker's listener, and 2.0.2 aborts the whole process when that re-bind fails, which
    /// happened once in CI with the whole test suite running beside it.
    public func beginOutage() {
        // One closed connection per request; 1,000 per request type outlast any reconnect
        // backoff over a test's outage.
        let drops = [rd_kafka_resp_err_t](repeating: RD_KAFKA_RESP_ERR__TRANSPORT, count: 1000)
        for apiKey in Self.apiKeys {
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, drops.count, drops)
        }
    }

    /// Ends an outage begun by ``beginOutage()``: requests are served again.
    public func endOutage() {
        for apiKey in Self.apiKeys { rd_kafka_mock_clear_request_errors(cluster, apiKey) }
    }

    /// Makes `broker` (1-based) lead `partition` of `topic`, or leaves it leader-less with -1: its
    /// messages then wait, and time out, while the other partitions are served.
    public func setLeader(topic: String, partition: Int32, broker: Int32) {
        _ = rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker)
    }

    /// Every Kafka request type librdkafka 2.0 knows (ApiVersions is 18, the highest is below 70).
    private static let apiKeys: ClosedRange<Int16> = 0...69

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }
}
