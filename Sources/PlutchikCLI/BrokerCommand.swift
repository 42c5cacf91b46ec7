import ArgumentParser
import Foundation
import Kafka
import Logging
import Pipeline
import ServiceLifecycle

/// `plutchik broker`: librdkafka's mock cluster on loopback, for development and tests.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run an embedded Kafka broker (librdkafka's mock cluster) on loopback until SIGTERM/SIGINT.",
        discussion: """
            Prints the bootstrap address and, once the broker is ready, writes it to --bootstrap-file. \
            Transactions are not honoured and about 5 MiB per partition is kept; for development and tests only.
            """
    )

    @Option(help: "Number of brokers in the cluster.")
    var brokers: Int = 1

    @Option(name: .customLong("topic"), help: "A topic to create, as NAME:PARTITIONS. Repeatable.")
    var topics: [TopicSpec] = []

    @Option(help: "Write the bootstrap address to this file once the broker is ready.")
    var bootstrapFile: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1...16).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 16, got \(brokers)") }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "plutchik.broker")
        let broker = try EmbeddedBroker(brokers: brokers, topics: topics, logger: logger)
        print(broker.bootstrapServers)
        if let bootstrapFile {
            // Write then rename, so a reader never sees a half-written address.
            let tmp = bootstrapFile + ".tmp"
            try (broker.bootstrapServers + "\n").write(toFile: tmp, atomically: false, encoding: .utf8)
            guard rename(tmp, bootstrapFile) == 0 else {
                throw ValidationError("cannot write --bootstrap-file \(bootstrapFile): \(String(cString: strerror(errno)))")
            }
        }
        logger.info("broker ready", metadata: [
            "kafka.bootstrap": "\(broker.bootstrapServers)",
            "kafka.topics": "\(topics.map(\.description).joined(separator: ","))",
        ])
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: broker)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        if let bootstrapFile { try? FileManager.default.removeItem(atPath: bootstrapFile) }
        logger.info("broker stopped")
    }
}

/// `NAME:PARTITIONS`.
struct TopicSpec: ExpressibleByArgument, CustomStringConvertible, Sendable {
    var name: String
    var partitions: Int

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.first, !name.isEmpty else { return nil }
        let partitions = parts.count == 2 ? Int(parts[1]) : 1
        guard let partitions, partitions > 0 else { return nil }
        self.name = String(name)
        self.partitions = partitions
    }

    init(name: String, partitions: Int) {
        self.name = name
        self.partitions = partitions
    }

    var description: String { "\(name):\(partitions)" }
}

/// The mock cluster as a service: it lives until graceful shutdown.
struct EmbeddedBroker: Service {
    let cluster: KafkaMockCluster

    init(brokers: Int, topics: [TopicSpec], logger: Logger) throws {
        cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        for t in topics { try cluster.createTopic(t.name, partitions: t.partitions, replicationFactor: min(brokers, 3)) }
    }

    /// One broker with the pipeline's four topics, for the demo and benchmarks.
    init(for config: PipelineConfiguration, logger: Logger) throws {
        try self.init(brokers: 1, topics: Self.topics(for: config), logger: logger)
    }

    /// The pipeline's four topics: 6 partitions each, the DLQ 1.
    static func topics(for config: PipelineConfiguration) -> [TopicSpec] {
        [TopicSpec(name: config.inputTopic, partitions: 6), TopicSpec(name: config.eventsTopic, partitions: 6),
         TopicSpec(name: config.escalationsTopic, partitions: 6), TopicSpec(name: config.deadLetterTopic, partitions: 1)]
    }

    var bootstrapServers: String { cluster.bootstrapServers }

    func run() async throws {
        try await gracefulShutdown()
    }
}
