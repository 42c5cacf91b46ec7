import ArgumentParser
import Foundation
import Kafka
import Logging

/// `plutchik smoke`: a produce/consume round trip through a broker, as a first check of a set-up.
struct SmokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smoke",
        abstract: "Produce keyed messages, consume them back in a consumer group, commit, and check nothing was lost."
    )

    @Option(help: "Bootstrap servers; without it an embedded broker is started in-process. Env: KAFKA_BROKERS.")
    var bootstrap: String?

    @Option(help: "How many messages to send.")
    var messages: Int = 1000

    @Option(help: "Topic to use (created with 6 partitions on an embedded broker).")
    var topic: String = "plutchik.smoke"

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger(label: "plutchik.smoke")
        var broker: EmbeddedBroker?
        let servers: String
        if let b = bootstrap ?? Settings.environment["KAFKA_BROKERS"] {
            servers = b
        } else {
            let embedded = try EmbeddedBroker(brokers: 1, topics: [TopicSpec(name: topic, partitions: 6)], logger: logger)
            broker = embedded
            servers = embedded.bootstrapServers
        }
        let runID = UUID().uuidString.prefix(8)

        let producer = try KafkaProducer(configuration: .init(bootstrapServers: servers), logger: logger)
        try await producer.waitUntilReachable()
        let start = ContinuousClock.now
        let sent = try await producer.sendAll((0..<messages).map { i in
            KafkaProducerMessage(topic: topic, key: "dialogue-\(i % 50)", value: "\(runID) turn \(i)",
                                 headers: [KafkaHeader(key: "smoke.run", string: String(runID))])
        })
        try await producer.close()
        let produced = ContinuousClock.now

        var config = KafkaConsumerConfiguration(bootstrapServers: servers, groupID: "plutchik-smoke-\(runID)", topics: [topic])
        config.sessionTimeout = .seconds(6)
        let consumer = try KafkaConsumer(configuration: config, logger: logger)
        var seen = Set<String>()
        var pending: [KafkaRecord] = []
        for try await event in consumer.events {
            guard case .record(let r) = event, r.header("smoke.run") == String(runID) else { continue }
            seen.insert(String(decoding: r.value ?? [], as: UTF8.self))
            pending.append(r)
            if pending.count >= 200 || seen.count == messages {
                try await consumer.commit(pending)
                pending.removeAll()
            }
            if seen.count == messages { break }
        }
        await consumer.close()
        let consumed = ContinuousClock.now

        let partitions = Set(sent.map(\.partition)).count
        print("smoke: sent \(sent.count) messages over \(partitions) partitions of \(topic) at \(servers)")
        print("smoke: consumed and committed \(seen.count) distinct messages")
        print("smoke: produce \(produced - start), consume \(consumed - produced)")
        guard seen.count == messages else {
            throw ValidationError("smoke: expected \(messages) messages back, got \(seen.count)")
        }
        print("smoke: ok")
        withExtendedLifetime(broker) {}
    }
}
