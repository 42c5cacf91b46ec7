import AuditStore
import Contracts
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import Testing
@testable import Pipeline

/// A deterministic stand-in for the model: angry words → rage, otherwise joy; it counts turns
/// per dialogue as its state and raises an alert on the second angry turn of a dialogue.
struct KeywordAnalyzer: TurnAnalyzer {
    struct State: Sendable, Equatable { var turns = 0; var angry = 0 }
    /// Simulated inference time, so a backlog can build up.
    var secondsPerTurn: Double = 0
    var modelVersion: String { "keyword-test" }
    func initialState() -> State { State() }
    func analyze(_ turns: [TimedTurn], states: inout [String: State]) throws -> [TurnAnalysis] {
        if secondsPerTurn > 0 { Thread.sleep(forTimeInterval: secondsPerTurn * Double(turns.count)) }
        return turns.map { timed in
            let t = timed.turn
            var s = states[t.stateKey] ?? State()
            s.turns += 1
            let angry = t.text.lowercased().contains("furious")
            if angry { s.angry += 1 }
            states[t.stateKey] = s
            var probs = [Float](repeating: 0.01, count: 32)
            probs[(angry ? PlutchikEmotion.rage : .joy).index] = 1 - 0.31
            let risk: Float = angry ? 0.9 : 0.1
            return TurnAnalysis(
                prediction: EmotionPrediction(probabilities: probs, sarcasm: 0.1, intensity: angry ? 1 : 0.5),
                escalation: EscalationForecast(risk: risk, riskHorizon: risk, horizonSeconds: 120, trend: .steady,
                                               timeToEscalationSeconds: nil, alert: angry && s.angry == 2),
                // An alert is explained by its angry word, as the model explains alerts.
                explanation: angry && s.angry == 2 ? Explanation(words: [.init(word: "furious", contribution: 0.5)], escalationTurns: []) : nil)
        }
    }
    func encode(_ state: State) throws -> [UInt8] { [UInt8(state.turns), UInt8(state.angry)] }
    func decode(_ bytes: [UInt8]) throws -> State { State(turns: Int(bytes[0]), angry: Int(bytes[1])) }
}

/// A processor with the stand-in model over a fresh mock cluster and database: `messages` (given
/// the topics) go in, the processor runs until it has taken them all, then stops gracefully.
struct EndToEndRun {
    let cluster: KafkaMockCluster
    let config: PipelineConfiguration
    let writer: AuditWriter
    let db: PipelineTestDatabase
    let stats: StreamProcessor<KeywordAnalyzer>.Stats
    let logger: Logger
    /// What went into the input topic, and the processor's consumer group.
    let sent: [KafkaProducerMessage]
    let groupID: String

    init(partitions: Int, policies: TenantPolicies = .init(), prepare: (AuditWriter, PipelineConfiguration) async throws -> Void = { _, _ in },
         messages: (PipelineConfiguration) -> [KafkaProducerMessage]) async throws {
        var logger = Logger(label: "pipeline-test")
        logger.logLevel = .critical
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        var config = PipelineConfiguration()
        let suffix = UInt32.random(in: 0...UInt32.max)
        config.inputTopic = "turns-\(suffix)"; config.eventsTopic = "events-\(suffix)"
        config.escalationsTopic = "alerts-\(suffix)"; config.deadLetterTopic = "dlq-\(suffix)"
        for t in [config.inputTopic, config.eventsTopic, config.escalationsTopic, config.deadLetterTopic] {
            try cluster.createTopic(t, partitions: partitions)
        }
        let db = try PipelineTestDatabase()
        let writer = try AuditWriter(configuration: .init(url: db.url))
        _ = try await writer.migrate(directory: PipelineTestDatabase.migrations)
        try await prepare(writer, config)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let sent = messages(config)
        _ = try await producer.sendAll(sent)
        var consumerConfig = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "p-\(suffix)", topics: [config.inputTopic])
        consumerConfig.sessionTimeout = .seconds(6)
        let consumer = try KafkaConsumer(configuration: consumerConfig, logger: logger)
        let processor = StreamProcessor(configuration: config, analyzer: KeywordAnalyzer(), consumer: consumer,
                                        producer: producer, writer: writer, logger: logger, tenantPolicies: TenantPolicyStore(policies))
        let group = ServiceGroup(configuration: .init(services: [.init(service: processor)], logger: logger))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        while await processor.stats.turns < sent.count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        await group.triggerGracefulShutdown()
        try await running.value
        stats = await processor.stats
        (self.cluster, self.config, self.writer, self.db, self.logger, self.sent) = (cluster, config, writer, db, logger, sent)
        groupID = "p-\(suffix)"
    }
}

@Suite("The stream processor end to end", .timeLimit(.minutes(3)))
struct PipelineEndToEndTests {
    static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    @Test("N turns in give N events out, audits match events, bad records land in the DLQ, alerts once")
    func endToEnd() async throws {
        let bad: [(String, String)] = [
            ("{not json", "invalid_json"),
            (#"{"dialogue_id":"x","turn_id":1,"speaker":"c"}"#, "missing_field"),
            (#"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"hi","role":"boss"}"#, "invalid_field"),
            (#"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"card 4111-1111-1111-1111","role":"clerk"}"#, "invalid_field"),
            (#"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"\#(String(repeating: "a", count: 5001))"}"#, "text_too_long"),
            (#"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"hi","ts":"1990-01-01T00:00:00Z"}"#, "timestamp_out_of_range"),
            (#"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"hi","notes":"\#(String(repeating: "n", count: 5000))"}"#, "attributes_too_large"),
            (#"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"hi","queue":"a\u0000b"}"#, "control_characters"),
        ]
        let run = try await EndToEndRun(partitions: 3, prepare: { writer, config in
            // A dialogue last written 8 days ago: pruned (retention 7 days) once processing starts.
            try await writer.write(AuditBatch(states: [DialogueStateRow(dialogueID: "dormant", sourceTopic: config.inputTopic,
                                                                        sourcePartition: 0, lastOffset: 0, state: [0, 0])]))
            _ = try await writer.query("UPDATE dialogue_state SET updated_at = now() - interval '8 days' RETURNING 1")
        }, messages: { config in
            // 20 dialogues × 4 turns; dialogue 0 is furious three times (one alert expected).
            var messages: [KafkaProducerMessage] = []
            for turn in 1...4 {
                for d in 0..<20 {
                    // Dialogue 3's second turn holds a card number: redacted from everything that leaves.
                    let text = d == 0 && turn > 1 ? "I am furious about this" : d == 3 && turn == 2 ? "my card is 4111 1111 1111 1111" : "thanks, that helps"
                    // Dialogue 1 carries caller fields beyond the schema: they become its attributes.
                    let extra = d == 1 ? #","queue":"vip","interaction_id":4200000000001"# : ""
                    let json = #"{"dialogue_id":"d\#(d)","turn_id":\#(turn),"speaker":"c","role":"customer","text":"\#(text)"\#(extra)}"#
                    // Dialogue 0's turns carry a W3C trace context, dialogue 2's a malformed one.
                    let trace: [KafkaHeader] = switch d {
                    case 0: [KafkaHeader(key: "traceparent", string: Self.traceparent), KafkaHeader(key: "tracestate", string: "vendor=1")]
                    case 2: [KafkaHeader(key: "traceparent", string: "00-not-a-trace")]
                    default: []
                    }
                    messages.append(KafkaProducerMessage(topic: config.inputTopic, key: "d\(d)", value: json, headers: trace))
                }
            }
            for (value, _) in bad { messages.append(KafkaProducerMessage(topic: config.inputTopic, key: "x", value: value)) }
            messages.append(KafkaProducerMessage(topic: config.inputTopic, key: Array("x".utf8), value: [0xff, 0xfe, 0x7b]))
            return messages
        })
        let (cluster, config, writer, logger, messages) = (run.cluster, run.config, run.writer, run.logger, run.sent)
        let stats = run.stats
        #expect(stats.turns == messages.count)
        #expect(stats.events == 80)
        #expect(stats.deadLettered == bad.count + 1)
        #expect(stats.alerts == 1)

        // What reached the output topics.
        let events = try await readAll(cluster, topic: config.eventsTopic, count: 80, logger: logger)
        let eventIDs = Set(events.map { (try? JSONSerialization.jsonObject(with: Data($0.value!)) as? [String: Any])?["event_id"] as? String })
        #expect(eventIDs.count == 80)
        let dlq = try await readAll(cluster, topic: config.deadLetterTopic, count: bad.count + 1, logger: logger)
        let codes = dlq.compactMap { $0.header("plutchik.error.code") }
        #expect(Set(codes) == Set(bad.map(\.1) + ["invalid_utf8"]))
        #expect(dlq.allSatisfy { $0.header("plutchik.source.topic") == config.inputTopic && $0.header("plutchik.error.reason") != nil })
        #expect(dlq.contains { $0.value == [0xff, 0xfe, 0x7b] })
        // No card digits in any output; the dead letter holding one is redacted and says so.
        let card = Array("4111".utf8)
        func holdsCard(_ r: KafkaRecord) -> Bool { r.value.map { v in v.indices.contains { v[$0...].starts(with: card) } } ?? false }
        #expect(!events.contains(where: holdsCard) && !dlq.contains(where: holdsCard))
        #expect(dlq.filter { $0.header("plutchik.redacted") == "card=1" }.count == 1)
        let alerts = try await readAll(cluster, topic: config.escalationsTopic, count: 1, logger: logger)
        #expect(alerts.count == 1)

        // The trace context travels from the turn to its event and alert; a malformed one does not.
        func dialogue(_ r: KafkaRecord) -> String? { r.key.map { String(decoding: $0, as: UTF8.self) } }
        #expect(events.filter { dialogue($0) == "d0" }.allSatisfy { $0.header("traceparent") == Self.traceparent && $0.header("tracestate") == "vendor=1" })
        #expect(alerts.allSatisfy { $0.header("traceparent") == Self.traceparent })
        #expect(events.filter { dialogue($0) != "d0" }.allSatisfy { $0.header("traceparent") == nil })

        // Caller attributes reach the event and the audit's jsonb column unchanged.
        let d1 = events.compactMap { try? JSONSerialization.jsonObject(with: Data($0.value!)) as? [String: Any] }.filter { $0["dialogue_id"] as? String == "d1" }
        #expect(d1.count == 4 && d1.allSatisfy { ($0["attributes"] as? [String: Any])?["queue"] as? String == "vip" })
        let attributes = try await writer.query("SELECT DISTINCT dialogue_id, attributes->>'queue', (attributes->>'interaction_id')::bigint FROM emotion_audit WHERE attributes IS NOT NULL")
        #expect(attributes == [["d1", "vip", "4200000000001"]])

        // The audit holds the redacted text, never the digits.
        let cardTexts = try await writer.query("SELECT text FROM emotion_audit WHERE dialogue_id = 'd3' AND turn_id = '2'")
        #expect(cardTexts == [["my card is [CARD]"]])
        #expect(try await writer.query("SELECT count(*) FROM emotion_audit WHERE text LIKE '%4111%' OR event::text LIKE '%4111%'") == [["0"]])
        // Counts, not contents: the event and the audit say a card was there.
        #expect(try await writer.query("SELECT dialogue_id, turn_id, redactions->>'card', event->'redactions'->>'card' FROM emotion_audit WHERE redactions IS NOT NULL")
                == [["d3", "2", "1", "1"]])

        // The audits match the events, one row per turn.
        let audits = try await writer.query("SELECT event_id FROM emotion_audit")
        #expect(Set(audits.map { $0[0] }) == eventIDs)
        let states = try await writer.query("SELECT count(*), count(*) FILTER (WHERE dialogue_id = 'dormant') FROM dialogue_state")
        #expect(states[0] == ["20", "0"])
        let committed = try await readCommitted(cluster, group: run.groupID, topic: config.inputTopic, logger: logger)
        #expect(committed == messages.count)
    }

    @Test("a tenant whose texts are hashed gets no explanation words in its events, alerts or audits; another tenant does")
    func hashedTenantsGetNoExplanationWords() async throws {
        let run = try await EndToEndRun(partitions: 1, policies: TenantPolicies(tenants: ["acme": TenantPolicy(hashTexts: true)])) { config in
            ["acme", "globex"].flatMap { tenant in
                (1...2).map { turn in
                    KafkaProducerMessage(topic: config.inputTopic, key: "chat-1001",
                                         value: #"{"dialogue_id":"chat-1001","tenant":"\#(tenant)","turn_id":\#(turn),"speaker":"c","text":"I am furious about this"}"#)
                }
            }
        }
        #expect(run.stats.alerts == 2)
        let alerts = try await readAll(run.cluster, topic: run.config.escalationsTopic, count: 2, logger: run.logger)
        let words = Dictionary(uniqueKeysWithValues: alerts.compactMap { r -> (String, [String])? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(r.value!)) as? [String: Any], let tenant = o["tenant"] as? String else { return nil }
            return (tenant, ((o["explanation"] as? [String: Any])?["words"] as? [[String: Any]] ?? []).compactMap { $0["word"] as? String })
        })
        #expect(words == ["acme": [], "globex": ["furious"]])
        let stored = try await run.writer.query("SELECT tenant, text IS NULL, event->'explanation'->'words' FROM emotion_audit WHERE escalation_alert ORDER BY tenant")
        #expect(stored.map { Array($0.prefix(2)) } == [["acme", "t"], ["globex", "f"]])
        #expect(stored.first?[2] == "[]" && stored.last?[2]?.contains("furious") == true)
    }
}

func readAll(_ cluster: KafkaMockCluster, topic: String, count: Int, logger: Logger) async throws -> [KafkaRecord] {
    var config = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "reader-\(UInt32.random(in: 0...UInt32.max))", topics: [topic])
    config.sessionTimeout = .seconds(6)
    let c = try KafkaConsumer(configuration: config, logger: logger)
    var out: [KafkaRecord] = []
    let deadline = ContinuousClock.now + .seconds(30)
    while out.count < count && ContinuousClock.now < deadline {
        if case .record(let r)? = try await c.nextEvent(timeout: .milliseconds(200)) { out.append(r) }
    }
    // Anything beyond `count` arriving shortly after is a duplicate we want to see.
    while case .record(let r)? = try await c.nextEvent(timeout: .milliseconds(500)) { out.append(r) }
    await c.close()
    return out
}

func readCommitted(_ cluster: KafkaMockCluster, group: String, topic: String, logger: Logger) async throws -> Int {
    let c = try KafkaConsumer(configuration: .init(bootstrapServers: cluster.bootstrapServers, groupID: group, topics: []), logger: logger)
    defer { Task { await c.close() } }
    let offsets = try await c.committed((0..<3).map { KafkaTopicPartition(topic: topic, partition: $0) })
    return offsets.values.reduce(0) { $0 + Int($1 ?? 0) }
}

/// A fresh database on the server `Deploy/test.sh` starts; fails (not skips) without one.
struct PipelineTestDatabase {
    let url: String
    static var migrations: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Schemas/postgres")
    }
    init() throws {
        guard let server = ProcessInfo.processInfo.environment["PLUTCHIK_TEST_DATABASE_URL"], let slash = server.lastIndex(of: "/") else {
            throw PipelineTestSetupError(description: "PLUTCHIK_TEST_DATABASE_URL is not set: run the tests with Deploy/test.sh, which installs and starts a local PostgreSQL")
        }
        let name = "p_\(UInt32.random(in: 0...UInt32.max))"
        try PostgresConnection(url: server).execute("CREATE DATABASE \(name)")
        url = server[..<slash] + "/" + name
    }
}

struct PipelineTestSetupError: Error, CustomStringConvertible {
    let description: String
}
