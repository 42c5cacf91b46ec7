import Foundation
import Logging
@testable import Kafka

/// An in-process mock cluster with a few helpers, one per test.
struct KafkaTestCluster {
    let cluster: KafkaMockCluster
    let logger: Logger

    init(brokers: Int = 1, topics: [String: Int] = [:]) throws {
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["KAFKA_TEST_LOG"] != nil ? .debug : .critical
        self.logger = logger
        cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        for (name, partitions) in topics { try cluster.createTopic(name, partitions: partitions) }
    }

    var bootstrapServers: String { cluster.bootstrapServers }

    func producer() throws -> KafkaProducer {
        var config = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        config.linger = .milliseconds(1)
        return try KafkaProducer(configuration: config, logger: logger)
    }

    func consumer(group: String, topics: [String]) throws -> KafkaConsumer {
        var config = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: group, topics: topics)
        config.sessionTimeout = .seconds(6)
        config.heartbeatInterval = .milliseconds(300)
        return try KafkaConsumer(configuration: config, logger: logger)
    }
}

/// A logger for clients that are expected to fail to connect.
let quietLogger: Logger = {
    var l = Logger(label: "kafka-tests")
    l.logLevel = .critical
    return l
}()

/// Unique names, so tests running in parallel never share a topic or group.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
}

/// Runs `body` with a deadline; throws if it does not finish in time.
func withDeadline<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw DeadlineExceeded(what: what, limit: limit)
        }
        group.cancelAll()
        return value
    }
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    let what: String
    let limit: Duration
    var description: String { "\(what) did not finish within \(limit)" }
}

/// Reads records from `consumer` until `count` have arrived, tracking assignments.
func collect(_ count: Int, from consumer: KafkaConsumer, limit: Duration = .seconds(30)) async throws -> [KafkaRecord] {
    try await withDeadline(limit, "receiving \(count) records") {
        var out: [KafkaRecord] = []
        for try await event in consumer.events {
            if case .record(let r) = event {
                out.append(r)
                if out.count == count { break }
            }
        }
        return out
    }
}
