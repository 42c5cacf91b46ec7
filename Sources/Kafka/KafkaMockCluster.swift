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

    /// Takes broker `id` (1-based) down: its connections drop and new ones are refused, but its
    /// data and the group's committed offsets stay. For outage tests.
    public func setBrokerDown(_ id: Int32 = 1) throws {
        let err = rd_kafka_mock_broker_set_down(cluster, id)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: err, "take mock broker \(id) down") }
    }

    /// Brings broker `id` back after ``setBrokerDown(_:)``.
    public func setBrokerUp(_ id: Int32 = 1) throws {
        let err = rd_kafka_mock_broker_set_up(cluster, id)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: err, "bring mock broker \(id) up") }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }
}
