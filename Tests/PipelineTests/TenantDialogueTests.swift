import AuditStore
import Contracts
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import Testing
@testable import Pipeline

/// #40 item 1, the stream's part. Finding: the analyzer states, the dialogue store and
/// `dialogue_state` keyed a dialogue by id alone, so two tenants' `chat-1001` shared one context
/// and one escalation state.
@Suite("Two tenants with the same dialogue id, through the stream", .timeLimit(.minutes(2)))
struct TenantDialogueTests {
    @Test("a state key is the tenant and the id; a turn without a tenant keys by its id as before")
    func stateKey() {
        let acme = Turn(dialogueID: "chat-1001", turnID: 1, speaker: "c", text: "x", tenant: "acme")
        #expect(acme.stateKey == "acme\u{1F}chat-1001")
        #expect(Turn(dialogueID: "chat-1001", turnID: 1, speaker: "c", text: "x").stateKey == "chat-1001")
        #expect(acme.stateKey != Turn(dialogueID: "chat-1001", turnID: 1, speaker: "c", text: "x", tenant: "globex").stateKey)
    }

    @Test("the model keeps one context and escalation state per tenant and id")
    func modelStates() throws {
        let analyzer = try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: repositoryRoot.appendingPathComponent("Models/heads"),
                                         escalationDirectory: repositoryRoot.appendingPathComponent("Models/escalation"))
        let now = Date()
        let turns = [("acme", "This is the third outage, I am furious"), ("globex", "Thanks, all good"), ("acme", "Fix it now!")].enumerated().map { i, t in
            TimedTurn(turn: Turn(dialogueID: "chat-1001", turnID: i + 1, speaker: "c", role: .customer, text: t.1, tenant: t.0),
                      timestamp: now.addingTimeInterval(Double(i)))
        }
        var shared: [String: ModelAnalyzer.State] = [:]
        _ = try analyzer.analyze(turns, states: &shared)
        #expect(Set(shared.keys) == ["acme\u{1F}chat-1001", "globex\u{1F}chat-1001"])
        // globex's dialogue alone gives globex's state: acme's turns did not reach it.
        var alone: [String: ModelAnalyzer.State] = [:]
        _ = try analyzer.analyze([turns[1]], states: &alone)
        #expect(try analyzer.encode(alone["globex\u{1F}chat-1001"]!) == (try analyzer.encode(shared["globex\u{1F}chat-1001"]!)))
    }

    @Test("interleaved turns of acme's and globex's chat-1001 keep their own escalation state and dialogue_state rows")
    func separateStates() async throws {
        var logger = Logger(label: "tenant-test")
        logger.logLevel = .critical
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        var config = PipelineConfiguration()
        let suffix = UInt32.random(in: 0...UInt32.max)
        config.inputTopic = "turns-\(suffix)"
        config.eventsTopic = "events-\(suffix)"
        config.escalationsTopic = "alerts-\(suffix)"
        config.deadLetterTopic = "dlq-\(suffix)"
        for t in [config.inputTopic, config.eventsTopic, config.escalationsTopic, config.deadLetterTopic] {
            try cluster.createTopic(t, partitions: 1)
        }
        let db = try PipelineTestDatabase()
        let writer = try AuditWriter(configuration: .init(url: db.url))
        _ = try await writer.migrate(directory: PipelineTestDatabase.migrations)
        // The stand-in alerts on a dialogue's second furious turn: acme is furious twice, globex
        // once, in between. Shared, the state would alert on globex's turn.
        let turns: [(tenant: String, text: String)] = [("acme", "I am furious"), ("globex", "I am furious"), ("globex", "thanks"),
                                                       ("acme", "still furious"), ("globex", "ok")]
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        var messages: [KafkaProducerMessage] = []
        for (i, t) in turns.enumerated() {
            let json = #"{"dialogue_id":"chat-1001","turn_id":\#(i + 1),"speaker":"c","role":"customer","text":"\#(t.text)","tenant":"\#(t.tenant)"}"#
            messages.append(KafkaProducerMessage(topic: config.inputTopic, key: "chat-1001", value: json))
        }
        _ = try await producer.sendAll(messages)
        var consumerConfig = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "t-\(suffix)", topics: [config.inputTopic])
        consumerConfig.sessionTimeout = .seconds(6)
        let consumer = try KafkaConsumer(configuration: consumerConfig, logger: logger)
        let processor = StreamProcessor(configuration: config, analyzer: KeywordAnalyzer(), consumer: consumer,
                                        producer: producer, writer: writer, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: processor)], logger: logger))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        while await processor.stats.turns < messages.count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(await processor.stats.alerts == 1)
        let alerts = try await writer.query("SELECT tenant, turn_id FROM escalation_event ORDER BY 1")
        #expect(alerts == [["acme", "4"]], "acme's second furious turn, not globex's")
        let states = try await writer.query("SELECT dialogue_id, state FROM dialogue_state ORDER BY 1")
        #expect(states.map { $0[0] } == ["acme\u{1F}chat-1001", "globex\u{1F}chat-1001"])
        // The stand-in's state is [turns, furious turns]: 2 and 2 for acme, 3 and 1 for globex.
        #expect(states.map { $0[1] } == ["\\x0202", "\\x0301"])
        let audits = try await writer.query("SELECT tenant, count(*) FROM emotion_audit WHERE dialogue_id = 'chat-1001' GROUP BY 1 ORDER BY 1")
        #expect(audits == [["acme", "2"], ["globex", "3"]])
        let summary = try await writer.query("SELECT tenant, turns, escalation_alerts FROM dialogue_summary WHERE dialogue_id = 'chat-1001' ORDER BY 1")
        #expect(summary == [["acme", "2", "1"], ["globex", "3", "0"]], "the BI view has one row per tenant's dialogue")
    }

    @Test("a replayed offset whose audit is the same dialogue and turn id of another tenant is analysed anew", .timeLimit(.minutes(1)))
    func replayChecksTenant() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 1)
        let topic = pipeline.config.inputTopic
        let old = Date().addingTimeInterval(-600)
        // The topic's previous life: offset 0 audited for globex's chat-1 turn 1; acme's chat-1 applied up to offset 5.
        try await pipeline.writer.write(AuditBatch(
            audits: [AuditRow(eventID: "\(topic)/0/0", sourceTopic: topic, sourcePartition: 0, sourceOffset: 0, dialogueID: "chat-1",
                              turnID: "1", speaker: "c", tenant: "globex", text: "old", emotion: "joy", confidence: 0.5, sector: "joy",
                              ring: "primary", sarcasm: 0, intensity: 0.5, modelVersion: "keyword-test", turnTimestamp: old, processedAt: old,
                              eventJSON: #"{"event_id":"\#(topic)/0/0","dialogue_id":"chat-1","turn_id":1,"tenant":"globex"}"#)],
            states: [DialogueStateRow(dialogueID: "acme\u{1F}chat-1", sourceTopic: topic, sourcePartition: 0, lastOffset: 5, state: [2, 0],
                                      lastTurnAt: old, stateFormat: 1, modelVersion: "keyword-test")]))
        let (_, audited, dlq) = try await CrashLoopTests.run(pipeline, [CrashLoopTests.turn("chat-1", 1, extra: #","tenant":"acme""#)])
        #expect(dlq.isEmpty && audited.count == 1)
        #expect(await pipeline.processor.stats.replayMismatches == 1, "globex's audit is not acme's turn")
        #expect(try await pipeline.writer.query("SELECT tenant FROM emotion_audit") == [["acme"]])
    }
}
