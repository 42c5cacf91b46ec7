import Foundation
import Testing
@testable import Kafka

@Suite("Kafka round trips on the embedded broker", .timeLimit(.minutes(2)))
struct KafkaRoundTripTests {
    @Test("records keep their key, value, headers and timestamp")
    func roundTrip() async throws {
        let topic = uniqueName("rt")
        let kafka = try KafkaTestCluster(topics: [topic: 3])
        let producer = try kafka.producer()
        let messages = (0..<20).map { i in
            KafkaProducerMessage(
                topic: topic, key: Array("dialogue-\(i % 4)".utf8), value: Array("turn \(i) ✓".utf8),
                headers: [KafkaHeader(key: "trace", string: "t\(i)"), KafkaHeader(key: "empty", value: nil)],
                timestampMs: 1_700_000_000_000 + Int64(i))
        }
        let reports = try await producer.sendAll(messages)
        #expect(reports.count == 20)
        try await producer.close()

        let consumer = try kafka.consumer(group: uniqueName("g"), topics: [topic])
        let records = try await collect(20, from: consumer)
        await consumer.close()

        let byValue = Dictionary(uniqueKeysWithValues: records.map { (String(decoding: $0.value!, as: UTF8.self), $0) })
        for (i, m) in messages.enumerated() {
            let r = try #require(byValue["turn \(i) ✓"])
            #expect(r.key == m.key)
            #expect(r.header("trace") == "t\(i)")
            #expect(r.headers.contains { $0.key == "empty" && $0.value == nil })
            #expect(r.timestampMs == 1_700_000_000_000 + Int64(i))
            #expect(r.topic == topic)
            // The delivery report says where the record went, and it was read back from there.
            #expect(r.partition == reports[i].partition && r.offset == reports[i].offset)
        }
    }

    @Test("lag counts the records fetched but not yet handed out")
    func lagCountsBufferedRecords() async throws {
        let topic = uniqueName("lag")
        let kafka = try KafkaTestCluster(topics: [topic: 1])
        let producer = try kafka.producer()
        _ = try await producer.sendAll((0..<300).map { KafkaProducerMessage(topic: topic, key: "k", value: "m\($0)") })
        try await producer.close()
        let consumer = try kafka.consumer(group: uniqueName("g"), topics: [topic])
        _ = try await collect(1, from: consumer)
        // The poll thread fetches the rest into the consumer's buffer, which librdkafka counts as
        // consumed; they are still the caller's backlog.
        // A record the poll thread holds between librdkafka and the buffer is counted by neither
        // for a moment, so each figure is awaited (up to 5 s) rather than read once.
        func awaitLag(_ expected: Int64) async throws -> Int64 {
            var lag: Int64 = -1
            for _ in 0..<50 {
                lag = try consumer.lag().values.reduce(0, +)
                if lag == expected { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return lag
        }
        #expect(try await awaitLag(299) == 299)
        _ = try await collect(99, from: consumer)
        #expect(try await awaitLag(200) == 200)
        await consumer.close()
    }

    @Test("delivery reports arrive in order, per message and per batch")
    func deliveryReports() async throws {
        let topic = uniqueName("dr")
        let kafka = try KafkaTestCluster(topics: [topic: 1])
        let producer = try kafka.producer()
        let single = try await producer.send(KafkaProducerMessage(topic: topic, key: "k", value: "first"))
        #expect(single.topic == topic && single.partition == 0 && single.offset == 0)
        let batch = try await producer.sendAll((1...50).map { KafkaProducerMessage(topic: topic, key: "k", value: "m\($0)") })
        #expect(batch.map(\.offset) == Array(1...50).map(Int64.init))
        try await producer.close()
        // A closed producer refuses new messages with a clear error.
        await #expect(throws: KafkaError.self) { try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: "late")) }
    }

    @Test("keyed records stay on one partition")
    func keyedPartitioning() async throws {
        let topic = uniqueName("keys")
        let kafka = try KafkaTestCluster(topics: [topic: 6])
        let producer = try kafka.producer()
        let messages = (0..<120).map { i in KafkaProducerMessage(topic: topic, key: "dialogue-\(i % 10)", value: "\(i)") }
        let reports = try await producer.sendAll(messages)
        try await producer.close()
        var partitionOf: [String: Set<Int32>] = [:]
        for (m, r) in zip(messages, reports) {
            partitionOf[String(decoding: m.key!, as: UTF8.self), default: []].insert(r.partition)
        }
        #expect(partitionOf.count == 10)
        #expect(partitionOf.values.allSatisfy { $0.count == 1 })
        // Ten keys over six partitions use more than one partition.
        #expect(Set(reports.map(\.partition)).count > 1)
    }

    @Test("an unknown librdkafka property names the bad key")
    func badProperty() throws {
        var config = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1")
        config.common.properties["no.such.property"] = "1"
        #expect {
            _ = try KafkaProducer(configuration: config, logger: quietLogger)
        } throws: { error in
            (error as? KafkaError)?.code == .invalidConfiguration && "\(error)".contains("no.such.property")
        }
        var consumerConfig = KafkaConsumerConfiguration(bootstrapServers: "127.0.0.1:1", groupID: "g", topics: ["t"])
        consumerConfig.common.properties["enable.auto.commit"] = "true"
        #expect {
            _ = try KafkaConsumer(configuration: consumerConfig, logger: quietLogger)
        } throws: { error in
            "\(error)".contains("enable.auto.commit")
        }
    }

    @Test("an unreachable bootstrap address fails clearly within a bounded time")
    func unreachable() async throws {
        // Port 1 on loopback: nothing listens there.
        var config = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1")
        config.common.connectTimeout = .seconds(2)
        let producer = try KafkaProducer(configuration: config, logger: quietLogger)
        await #expect {
            try await producer.waitUntilReachable()
        } throws: { error in
            guard let e = error as? KafkaError else { return false }
            return e.code == .brokerUnreachable && e.message.contains("127.0.0.1:1") && e.isRetriable
        }
        // Timed on this thread, synchronously: the async call's resumption waits for a free thread
        // of the shared pool, which other suites' CPU work can hold for seconds on a 2-core machine.
        let start = ContinuousClock.now
        #expect(throws: KafkaError.self) { try producer.client.checkReachable(timeout: .seconds(2)) }
        #expect(ContinuousClock.now - start < .seconds(10))

        var consumerConfig = KafkaConsumerConfiguration(bootstrapServers: "127.0.0.1:1", groupID: "g", topics: ["t"])
        consumerConfig.common.connectTimeout = .seconds(2)
        let consumer = try KafkaConsumer(configuration: consumerConfig, logger: quietLogger)
        await #expect(throws: KafkaError.self) { try await consumer.waitUntilReachable() }
        await consumer.close()
    }
}
