import AuditStore
import Foundation
import Kafka
import Testing
@testable import Contracts
@testable import Pipeline

/// `KeywordAnalyzer` whose model can be replaced from outside, as `plutchik run`'s reloader does:
/// `stage` loads, the processor adopts it before its next batch.
final class SwappableKeywordAnalyzer: TurnAnalyzer, @unchecked Sendable {
    typealias State = KeywordAnalyzer.State
    private let lock = NSLock()
    private var version = "keyword-v1"
    private var staged: String?
    let inner = KeywordAnalyzer(secondsPerTurn: 0.002)

    var modelVersion: String { lock.withLock { version } }
    func stage(_ next: String) { lock.withLock { staged = next } }
    func adoptStagedModel() -> String? {
        lock.withLock {
            guard let next = staged else { return nil }
            version = next
            staged = nil
            return next
        }
    }
    func initialState() -> State { inner.initialState() }
    func analyze(_ turns: [TimedTurn], states: inout [String: State]) throws -> [TurnAnalysis] { try inner.analyze(turns, states: &states) }
    func encode(_ state: State) throws -> [UInt8] { try inner.encode(state) }
    func decode(_ bytes: [UInt8]) throws -> State { try inner.decode(bytes) }
}

@Suite("Model upgrades while running")
struct ModelSwapTests {
    @Test("2,000 turns streaming, the model swapped mid-stream: every offset audited and published once, the switch visible and final",
          .timeLimit(.minutes(2)))
    func swapUnderLoad() async throws {
        let pipeline = try await InProcessPipeline<SwappableKeywordAnalyzer>(partitions: 4)
        let topic = pipeline.config.inputTopic
        // 200 dialogues × 10 turns, in turn order; the second half is sent once the swap is staged.
        let values = (1...10).flatMap { t in (0..<200).map { d in CrashLoopTests.turn("d\(d)", t, text: t % 3 == 0 ? "I am furious" : "thanks") } }
        func send(_ range: Range<Int>) async throws -> [KafkaDeliveryReport] {
            try await pipeline.producer.sendAll(range.map { i in
                KafkaProducerMessage(topic: topic, key: Array("d\(i % 200)".utf8), value: Array(values[i].utf8))
            })
        }
        var reports = try await send(0..<1_000)
        let analyzer = SwappableKeywordAnalyzer()
        try pipeline.start(analyzer)
        try await pipeline.waitForTurns(400, timeout: .seconds(40))
        analyzer.stage("keyword-v2")
        reports += try await send(1_000..<2_000)
        try await pipeline.waitForTurns(2_000, timeout: .seconds(60))
        try await pipeline.stop()

        let stats = await pipeline.processor.stats
        #expect(stats.modelSwaps == 1 && stats.deadLettered == 0)
        let expected = Set(eventIDs(reports, topic: topic))
        let audited = try auditCounts(databaseURL: pipeline.databaseURL, topic: topic)
        #expect(Set(audited.keys) == expected && audited.values.allSatisfy { $0 == 1 }, "every offset audited exactly once")
        let events = try await readEvents(bootstrap: pipeline.cluster.bootstrapServers, topic: pipeline.config.eventsTopic, expected: expected)
        #expect(events.count == 2_000 && Set(events.map(\.id)) == expected, "every offset published exactly once")

        // Per partition, in offset order, the version switches once from v1 to v2 and never back.
        var byPartition: [Int: [(offset: Int, version: String)]] = [:]
        for (_, json) in events {
            let source = json["source"] as? [String: Any], model = json["model"] as? [String: Any]
            byPartition[source?["partition"] as? Int ?? -1, default: []].append((source?["offset"] as? Int ?? -1, model?["version"] as? String ?? ""))
        }
        var versions = Set<String>()
        for (p, list) in byPartition {
            let seq = list.sorted { $0.offset < $1.offset }.map(\.version)
            versions.formUnion(seq)
            let firstV2 = seq.firstIndex(of: "keyword-v2") ?? seq.count
            #expect(seq[..<firstV2].allSatisfy { $0 == "keyword-v1" } && seq[firstV2...].allSatisfy { $0 == "keyword-v2" }, "partition \(p): \(seq)")
        }
        #expect(versions == ["keyword-v1", "keyword-v2"])

        // Audit rows carry the version their event carries.
        let mismatched = try await pipeline.writer.query(
            "SELECT count(*) FROM emotion_audit WHERE source_topic = $1 AND model_version <> event->'model'->>'version'", [topic])
        #expect(mismatched[0][0] == "0")
        // Each dialogue's state started afresh at the swap: its turn count is the turns the new model saw.
        let rows = try await pipeline.writer.query("""
            SELECT s.dialogue_id, s.model_version, get_byte(s.state, 0),
                   (SELECT count(*) FROM emotion_audit a WHERE a.dialogue_id = s.dialogue_id AND a.model_version = 'keyword-v2')
            FROM dialogue_state s ORDER BY 1
            """)
        #expect(rows.count == 200)
        for row in rows {
            #expect(row[1] == "keyword-v2" && row[2] == row[3], "\(row)")
        }
        #expect(stats.resetStates > 0)
    }
}

@Suite("Model reloads from disk")
struct ModelReloadTests {
    @Test("a changed model directory is loaded beside the running model and takes over only when adopted; a broken one is refused until it changes")
    func reloadFromDisk() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: dir) }
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let heads = dir.appendingPathComponent("heads"), escalation = dir.appendingPathComponent("escalation")
        try fm.copyItem(at: repo.appendingPathComponent("Models/heads"), to: heads)
        try fm.copyItem(at: repo.appendingPathComponent("Models/escalation"), to: escalation)
        let analyzer = try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: heads, escalationDirectory: escalation)
        let original = analyzer.modelVersion
        #expect(try analyzer.stageIfChanged() == nil, "nothing changed")

        // A new version whose weight file has not arrived intact: refused, the running model stays.
        let manifestURL = heads.appendingPathComponent("manifest.json")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as! [String: Any]
        let oldVersion = manifest["version"] as! String
        manifest["version"] = "heads-reload-test"
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        let embedding = heads.appendingPathComponent("embedding.f32"), good = try Data(contentsOf: embedding)
        try Data(good.prefix(100)).write(to: embedding)
        #expect(throws: ModelError.self) { try analyzer.stageIfChanged() }
        #expect(try analyzer.stageIfChanged() == nil, "the same broken files are not loaded again by the poll")
        #expect(analyzer.adoptStagedModel() == nil && analyzer.modelVersion == original)

        // The file arrives: the new model is staged, and takes over when adopted.
        try good.write(to: embedding)
        let staged = try #require(try analyzer.stageIfChanged())
        #expect(staged == original.replacingOccurrences(of: oldVersion, with: "heads-reload-test"))
        #expect(analyzer.modelVersion == original, "staged, not yet in use")
        #expect(try analyzer.stageIfChanged() == nil)
        #expect(analyzer.adoptStagedModel() == staged && analyzer.modelVersion == staged)
        #expect(analyzer.adoptStagedModel() == nil)
        var states: [String: ModelAnalyzer.State] = [:]
        let turn = try JSONDecoder().decode(Turn.self, from: Data(#"{"dialogue_id":"d","turn_id":1,"speaker":"c","text":"this is unacceptable"}"#.utf8))
        let out = try analyzer.analyze([TimedTurn(turn: turn, timestamp: Date())], states: &states)
        #expect(out.count == 1 && states["d"] != nil)
    }
}

@Suite("Shadow models")
struct ShadowModelTests {
    @Test("a shadow model scores every audited turn into emotion_audit_shadow only, with its own dialogue context",
          .timeLimit(.minutes(1)))
    func shadowRows() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 2)
        let topic = pipeline.config.inputTopic
        // 12 dialogues × 5 turns, one a poison record for the DLQ.
        var values = (1...5).flatMap { t in (0..<12).map { d in CrashLoopTests.turn("d\(d)", t, text: t >= 4 ? "I am furious" : "thanks") } }
        values.insert("{not json", at: 17)
        let reports = try await pipeline.producer.sendAll(values.enumerated().map { i, v in
            KafkaProducerMessage(topic: topic, key: Array("k\(i % 12)".utf8), value: Array(v.utf8))
        })
        let shadow = SwappableKeywordAnalyzer()
        try pipeline.start(KeywordAnalyzer(), shadow: ShadowScorer(shadow, maxDialogues: 100))
        try await pipeline.waitForTurns(values.count, timeout: .seconds(40))
        try await pipeline.stop()
        #expect(reports.count == 61)

        let rows = try await pipeline.writer.query("""
            SELECT a.model_version, s.model_version, a.emotion = s.emotion, get_byte(d.state, 0), s.escalation_alert
            FROM emotion_audit a JOIN emotion_audit_shadow s USING (source_topic, source_partition, source_offset)
            JOIN dialogue_state d ON d.dialogue_id = a.dialogue_id
            WHERE a.source_topic = $1
            """, [topic])
        #expect(rows.count == 60, "one shadow row per audited turn, none for the dead letter")
        #expect(rows.allSatisfy { $0[0] == "keyword-test" && $0[1] == "keyword-v1" && $0[2] == "t" })
        // The shadow model counted its own dialogue turns: its alert fires on the second angry turn, as the main model's does.
        let alerts = try await pipeline.writer.query("SELECT count(*) FROM emotion_audit_shadow WHERE escalation_alert")
        let mainAlerts = try await pipeline.writer.query("SELECT count(*) FROM emotion_audit WHERE escalation_alert AND source_topic = $1", [topic])
        #expect(alerts[0][0] == "12" && mainAlerts[0][0] == "12")
        // Nothing of the shadow is published.
        let events = try await readEvents(bootstrap: pipeline.cluster.bootstrapServers, topic: pipeline.config.eventsTopic,
                                          expected: Set(try auditCounts(databaseURL: pipeline.databaseURL, topic: topic).keys))
        #expect(events.count == 60 && events.allSatisfy { ($0.json["model"] as? [String: Any])?["version"] as? String == "keyword-test" })
    }
}
