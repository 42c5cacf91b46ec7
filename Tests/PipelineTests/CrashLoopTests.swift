import AuditStore
import Foundation
import Kafka
import Testing
@testable import Contracts
@testable import Pipeline
import Emotion

/// Records and stored data that once stopped `plutchik run` for good (a crash loop on restart):
/// each case runs through the real processor, the embedded broker and PostgreSQL, and the
/// processor must carry on, every record ending as an event plus an audit or as a dead letter.
@Suite("No record and no stored state can stop the processor (in-process)")
struct CrashLoopTests {
    static func turn(_ d: String, _ t: Int, text: String = "thanks", extra: String = "") -> String {
        #"{"dialogue_id":"\#(d)","turn_id":\#(t),"speaker":"c","text":"\#(text)"\#(extra)}"#
    }

    /// Sends `values`, runs the processor until it has consumed them, stops it, and returns the
    /// audited event ids and the dead letters.
    static func run(_ pipeline: InProcessPipeline<KeywordAnalyzer>, _ values: [String], keys: [[UInt8]?]? = nil)
        async throws -> (reports: [KafkaDeliveryReport], audited: [String: Int], dlq: [KafkaRecord]) {
        let topic = pipeline.config.inputTopic
        let reports = try await pipeline.producer.sendAll(values.enumerated().map { i, v in
            KafkaProducerMessage(topic: topic, key: keys?[i] ?? Array("k\(i % 7)".utf8), value: Array(v.utf8))
        })
        try pipeline.start(KeywordAnalyzer())
        try await pipeline.waitForTurns(values.count, timeout: .seconds(40))
        try await pipeline.stop()
        let stats = await pipeline.processor.stats
        let dlq = try await readDeadLetters(bootstrap: pipeline.cluster.bootstrapServers, topic: pipeline.config.deadLetterTopic,
                                            atLeast: stats.deadLettered, timeout: .seconds(20))
        return (reports, try auditCounts(databaseURL: pipeline.databaseURL, topic: topic), dlq)
    }

    @Test("1. NUL or control characters in tenant, scenario, topic or channel are dead-lettered; the rest is audited",
          .timeLimit(.minutes(1)))
    func controlCharactersInLabels() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 2)
        var values = (0..<40).map { Self.turn("d\($0 % 8)", $0, extra: #","tenant":"acme","channel":"chat""#) }
        let bad = [#","tenant":"acme\u0000x""#, #","scenario":"billing\u0000""#, #","topic":"\u0000""#,
                   #","channel":"chat\u001b[31m""#, #","tenant":"\#(String(repeating: "t", count: 300))""#]
        for (i, extra) in bad.enumerated() { values.insert(Self.turn("bad\(i)", 1, extra: extra), at: 5 + 7 * i) }
        let (reports, audited, dlq) = try await Self.run(pipeline, values)
        #expect(audited.count == 40)
        #expect(dlq.count == bad.count)
        #expect(Set(dlq.compactMap { $0.header("plutchik.error.code") }) == ["control_characters", "field_too_long"])
        #expect(dlq.allSatisfy { String(decoding: $0.value ?? [], as: UTF8.self).contains("bad") })
        #expect(Set(audited.keys).union(dlq.map { "\($0.header("plutchik.source.topic") ?? "")/\($0.header("plutchik.source.partition") ?? "")/\($0.header("plutchik.source.offset") ?? "")" })
                == Set(eventIDs(reports, topic: pipeline.config.inputTopic)))
    }

    @Test("2. Output over the producer's message.max.bytes: the record is dead-lettered, cut to fit, and the processor goes on",
          .timeLimit(.minutes(1)))
    func outputTooLarge() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 2, processorProperties: ["message.max.bytes": "20000"])
        // A valid turn whose escaped text makes a 25 KB event; junk of 60 KB; a valid turn with a
        // 30 KB key (keys are not copied into events, so it is processed).
        let hugeEvent = Self.turn("big", 1, text: String(repeating: #"\u0001"#, count: 4_200))
        let junk = String(repeating: "x", count: 60_000)
        var values = (0..<30).map { Self.turn("d\($0 % 5)", $0) }
        values.insert(hugeEvent, at: 3)
        values.insert(junk, at: 10)
        values.insert(Self.turn("bigkey", 1), at: 20)
        var keys: [[UInt8]?] = values.indices.map { _ in Array("k".utf8) }
        keys[20] = Array(repeating: UInt8(ascii: "k"), count: 30_000)
        let (reports, audited, dlq) = try await Self.run(pipeline, values, keys: keys)
        #expect(audited.count == 31)
        #expect(dlq.count == 2)
        let byCode = Dictionary(uniqueKeysWithValues: dlq.map { ($0.header("plutchik.error.code") ?? "?", $0) })
        #expect(Set(byCode.keys) == ["event_too_large", "invalid_json"])
        let cut = try #require(byCode["invalid_json"])
        #expect(cut.header("plutchik.error.truncated") == "60000")
        #expect((cut.value?.count ?? 0) < 20_000 && (cut.value?.count ?? 0) > 10_000)
        #expect(audited.count + dlq.count == reports.count)
    }

    @Test("3. A turn stamped 23 h ahead does not move the watermark: the backlog's other dialogues keep their context",
          .timeLimit(.minutes(1)))
    func futureTimestamp() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 1) { $0.maxBatchSize = 4 }
        let base = Date().addingTimeInterval(-3 * 86_400)
        var values: [String] = []
        for t in 1...6 {
            for d in 0..<6 {
                values.append(Self.turn("d\(d)", t, extra: #","ts":"\#(EmotionEvent.timestamp(base.addingTimeInterval(Double(t * 10 + d))))""#))
            }
            if t == 2 { values.append(Self.turn("future", 1, extra: #","ts":"\#(EmotionEvent.timestamp(Date().addingTimeInterval(23 * 3600)))""#)) }
        }
        let (_, audited, dlq) = try await Self.run(pipeline, values)
        #expect(audited.count == values.count && dlq.isEmpty)
        #expect(await pipeline.processor.stats.skewed == 1)
        let rows = try await pipeline.writer.query("SELECT dialogue_id, encode(state, 'hex') FROM dialogue_state WHERE dialogue_id <> 'future' ORDER BY 1")
        #expect(rows.count == 6)
        #expect(rows.allSatisfy { $0[1] == "0600" }, "dialogues that lost context (state = turns, angry): \(rows)")
    }

    @Test("4. Stored state of another model or format is dropped, never decoded; matching state is used",
          .timeLimit(.minutes(1)))
    func versionedState() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 1)
        let topic = pipeline.config.inputTopic
        let now = Date().addingTimeInterval(-60)
        // KeywordAnalyzer.decode traps on one byte: a row it must never be handed.
        try await pipeline.writer.write(AuditBatch(states: [
            DialogueStateRow(dialogueID: "other-model", sourceTopic: topic, sourcePartition: 0, lastOffset: -1, state: [0xFF],
                             lastTurnAt: now, stateFormat: 1, modelVersion: "keyword-test-v0"),
            DialogueStateRow(dialogueID: "untagged", sourceTopic: topic, sourcePartition: 0, lastOffset: -1, state: [0xFF],
                             lastTurnAt: now),
            DialogueStateRow(dialogueID: "current", sourceTopic: topic, sourcePartition: 0, lastOffset: -1, state: [5, 1],
                             lastTurnAt: now, stateFormat: 1, modelVersion: "keyword-test"),
        ]))
        let values = (1...3).flatMap { t in ["other-model", "untagged", "current"].map { Self.turn($0, t) } }
        let (_, audited, dlq) = try await Self.run(pipeline, values)
        #expect(audited.count == values.count && dlq.isEmpty)
        #expect(await pipeline.processor.stats.droppedStates == 2)
        let rows = try await pipeline.writer.query("SELECT dialogue_id, encode(state, 'hex'), state_format, model_version FROM dialogue_state ORDER BY 1")
        #expect(rows == [["current", "0801", "1", "keyword-test"], ["other-model", "0300", "1", "keyword-test"],
                         ["untagged", "0300", "1", "keyword-test"]])
    }

    @Test("5. A replayed offset whose audit is another turn's (a recreated topic) is analysed anew, audited and published",
          .timeLimit(.minutes(1)))
    func replayIdentity() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 1)
        let topic = pipeline.config.inputTopic
        let old = Date().addingTimeInterval(-600)
        // What the topic's previous life left: d1 applied up to offset 5, offset 0 audited for another dialogue.
        try await pipeline.writer.write(AuditBatch(
            audits: [AuditRow(eventID: "\(topic)/0/0", sourceTopic: topic, sourcePartition: 0, sourceOffset: 0, dialogueID: "gone",
                              turnID: "9", speaker: "c", text: "old", emotion: "joy", confidence: 0.5, sector: "joy", ring: "primary",
                              sarcasm: 0, intensity: 0.5, escalationAlert: true, modelVersion: "keyword-test", turnTimestamp: old, processedAt: old,
                              eventJSON: #"{"event_id":"\#(topic)/0/0","dialogue_id":"gone","turn_id":9}"#)],
            states: [DialogueStateRow(dialogueID: "d1", sourceTopic: topic, sourcePartition: 0, lastOffset: 5, state: [2, 0],
                                      lastTurnAt: old, stateFormat: 1, modelVersion: "keyword-test")],
            escalations: [EscalationRow(eventID: "\(topic)/0/0", dialogueID: "gone", turnID: "9", tenant: nil, risk: 0.9,
                                        horizonSeconds: 120, trend: "steady", alertJSON: "{}", raisedAt: old)]))
        let values = [Self.turn("d1", 1), Self.turn("d1", 2), Self.turn("d2", 1)]
        let (_, audited, dlq) = try await Self.run(pipeline, values)
        #expect(dlq.isEmpty)
        #expect(audited.count == 3)
        #expect(await pipeline.processor.stats.replayMismatches == 2)
        let rows = try await pipeline.writer.query("SELECT source_offset, dialogue_id, turn_id FROM emotion_audit ORDER BY 1")
        #expect(rows == [["0", "d1", "1"], ["1", "d1", "2"], ["2", "d2", "1"]])
        #expect(try await pipeline.writer.query("SELECT count(*) FROM escalation_event")[0][0] == "0")
        let events = try await readEvents(bootstrap: pipeline.cluster.bootstrapServers, topic: pipeline.config.eventsTopic,
                                          expected: ["\(topic)/0/0", "\(topic)/0/1", "\(topic)/0/2"], timeout: .seconds(20))
        #expect(events.map { "\($0.json["dialogue_id"] ?? "")/\($0.json["turn_id"] ?? "")" }.sorted() == ["d1/1", "d1/2", "d2/1"])
    }

    @Test("6. A publish failure re-sends only the messages that failed", .timeLimit(.minutes(1)))
    func publishRetriesOnlyFailures() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 3, messageTimeout: .milliseconds(1500))
        // Events for partition 0 of the events topic cannot be delivered (no leader) until it has one again.
        pipeline.cluster.setLeader(topic: pipeline.config.eventsTopic, partition: 0, broker: -1)
        let topic = pipeline.config.inputTopic
        let values = (0..<60).map { Self.turn("d\($0 % 20)", $0 / 20 + 1) }
        let reports = try await pipeline.producer.sendAll(values.indices.map {
            KafkaProducerMessage(topic: topic, key: "d\($0 % 20)", value: values[$0])
        })
        try pipeline.start(KeywordAnalyzer())
        // Long enough to join the group and see partition 0's events time out (1.5 s) a few times.
        try await Task.sleep(for: .seconds(8))
        #expect(await pipeline.processor.stats.turns < values.count, "the batches should still be waiting for partition 0")
        pipeline.cluster.setLeader(topic: pipeline.config.eventsTopic, partition: 0, broker: 1)
        try await pipeline.waitForTurns(values.count, timeout: .seconds(30))
        try await pipeline.stop()
        let expected = Set(eventIDs(reports, topic: topic))
        let events = try await readEvents(bootstrap: pipeline.cluster.bootstrapServers, topic: pipeline.config.eventsTopic,
                                          expected: expected, timeout: .seconds(20))
        #expect(Set(events.map(\.id)) == expected)
        #expect(events.count == values.count, "\(events.count - values.count) events published twice")
    }
}

@Suite("The model's dialogue state from stored bytes")
struct ModelStateTests {
    /// The committed heads and forecaster on the fetched encoder.
    static func committedModel() throws -> ModelAnalyzer {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: repo.appendingPathComponent("Models/heads"),
                                 escalationDirectory: repo.appendingPathComponent("Models/escalation"))
    }

    @Test("a state whose sizes do not fit the model throws on decode instead of trapping later")
    func wrongSizesThrow() throws {
        let analyzer = try Self.committedModel()
        var state = analyzer.initialState()
        state.context.append(embedding: [Float](repeating: 0.1, count: 384), speaker: "c")
        #expect(try analyzer.decode(try analyzer.encode(state)) == state)

        var smallLatent = state
        smallLatent.escalation.h = [0, 0, 0]
        var otherEmbedding = analyzer.initialState()
        otherEmbedding.context.append(embedding: [Float](repeating: 0.1, count: 768), speaker: "c")
        for bad in [smallLatent, otherEmbedding] {
            #expect(throws: ModelError.self) { try analyzer.decode(try analyzer.encode(bad)) }
        }
        #expect(throws: (any Error).self) { try analyzer.decode([0xFF, 0x00, 0x01]) }
    }

    @Test("states are stored as compact binary records; states stored as property lists still load; a cut record throws")
    func binaryRecords() throws {
        let analyzer = try Self.committedModel()
        var full = analyzer.initialState()
        full.context.append(embedding: (0..<384).map { Float($0 % 17) / 17 - 0.5 }, speaker: "customer ü")
        full.context.append(embedding: (0..<384).map { Float($0 % 5) / 5 - 0.4 }, speaker: "agent",
                            emoji: EmojiFeatures(text: "no 😡 🙄", vocabulary: EmojiVocabulary(texts: ["😡 🙄", "🙄 😡"], minCount: 1)))
        #expect(full.context.previousEmoji.count == 2)
        full.escalation.h = (0..<full.escalation.h.count).map { Float($0) * 0.25 - 1 }
        full.escalation.lastTimestamp = 1_764_000_000.125
        full.escalation.lastRisk = 0.75
        full.escalation.armed = false
        full.escalation.turns = 2
        full.lastRisk = 0.5
        full.recentRiskChanges = [.init(turnID: 7, riskChange: -0.125), .init(turnID: 8, riskChange: 0.25)]
        for state in [analyzer.initialState(), full] {
            let bytes = try analyzer.encode(state)
            #expect(bytes.starts(with: Array("PDS2".utf8)))
            #expect(try analyzer.decode(bytes) == state)
            let fixedWidth = state.binaryRecord(integers: .fixedWidth)
            #expect(fixedWidth.starts(with: Array("PDS1".utf8)) && fixedWidth.count > bytes.count)
            #expect(try analyzer.decode(fixedWidth) == state)
            let plist = PropertyListEncoder()
            plist.outputFormat = .binary
            #expect(try analyzer.decode(Array(try plist.encode(state))) == state)
            for cut in [5, bytes.count / 2, bytes.count - 1] {
                #expect(throws: ModelError.self) { try analyzer.decode(Array(bytes.prefix(cut))) }
            }
            #expect(throws: ModelError.self) { try analyzer.decode(bytes + [0]) }
        }
        full.recentRiskChanges = (100..<108).map { .init(turnID: $0, riskChange: 0.01) }
        let size = try analyzer.encode(full).count
        #expect(size <= 940, "\(size) bytes")   // a live dialogue's slot, within the 1 KiB it may cost
    }

    @Test("every model file is checked against the full SHA-256 its manifest records")
    func modelFilesAreVerified() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let model = try requireModelFiles()
        let fm = FileManager.default
        func load(_ tamper: (URL, URL) throws -> Void) throws {
            let dir = fm.temporaryDirectory.appendingPathComponent("models-\(UUID().uuidString)")
            defer { try? fm.removeItem(at: dir) }
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            let heads = dir.appendingPathComponent("heads"), escalation = dir.appendingPathComponent("escalation")
            try fm.copyItem(at: repo.appendingPathComponent("Models/heads"), to: heads)
            try fm.copyItem(at: repo.appendingPathComponent("Models/escalation"), to: escalation)
            try tamper(heads, escalation)
            _ = try ModelAnalyzer(modelDirectory: model, headsDirectory: heads, escalationDirectory: escalation)
        }
        func edit(_ url: URL, _ change: (inout Data) -> Void) throws {
            var d = try Data(contentsOf: url)
            change(&d)
            try d.write(to: url)
        }
        try load { _, _ in }
        let heads = try JSONSerialization.jsonObject(with: Data(contentsOf: repo.appendingPathComponent("Models/heads/manifest.json"))) as! [String: Any]
        let cases: [(String, (URL, URL) throws -> Void)] = [
            ("heads weights", { h, _ in try edit(h.appendingPathComponent(heads["weights_file"] as! String)) { $0[$0.count / 2] ^= 1 } }),
            ("embedding head", { h, _ in try edit(h.appendingPathComponent("embedding.f32")) { $0[5] ^= 1 } }),
            ("escalation forecaster", { _, e in try edit(e.appendingPathComponent("weights.json")) { $0.append(0x20) } }),
            ("not the encoder", { h, _ in
                try edit(h.appendingPathComponent("manifest.json")) { d in
                    let sha = heads["encoder_sha256"] as! String
                    d = Data(String(decoding: d, as: UTF8.self).replacingOccurrences(of: sha, with: String(sha.dropLast()) + (sha.hasSuffix("0") ? "1" : "0")).utf8)
                }
            }),
        ]
        for (what, tamper) in cases {
            #expect("\(what) not checked", performing: { try load(tamper) }, throws: { "\($0)".contains(what) && "\($0)".contains("SHA-256") })
        }
    }

    @Test("explanations: the words behind the emotion, and the turns whose risk changes add up to the risk")
    func explanations() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        func analyzer(explainAll: Bool) throws -> ModelAnalyzer {
            try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: repo.appendingPathComponent("Models/heads"),
                              escalationDirectory: repo.appendingPathComponent("Models/escalation"), explainAllTurns: explainAll)
        }
        let texts = ["Hi, my parcel has not arrived.", "I have waited three weeks and nobody answers.",
                     "This is absolutely outrageous, I am furious and I want a refund now!"]
        let turns = texts.enumerated().map { i, t in
            TimedTurn(turn: Turn(dialogueID: "d", turnID: i + 1, speaker: "c", role: .customer, text: t),
                      timestamp: Date(timeIntervalSince1970: 1_764_000_000 + Double(i) * 30))
        }
        let all = try analyzer(explainAll: true)
        var states: [String: ModelAnalyzer.State] = [:]
        let out = try all.analyze(turns, states: &states)
        #expect(out.allSatisfy { $0.explanation != nil })
        let last = try #require(out.last?.explanation)
        #expect(last.words.count == 3)
        // The words are the turn's, ranked by deleting them one after another, and they say
        // something: not all zero, not all tied, the first clearly for the emotion, and together no
        // more than the label's probability (each is the drop after the words before it), the
        // angry words among the first three.
        for (turn, analysis) in zip(turns, out) {
            let e = try #require(analysis.explanation), c = e.words.map(\.contribution)
            #expect(!e.words.isEmpty && e.words.allSatisfy { turn.turn.text.contains($0.word) })
            #expect(Set(c).count > 1 && c[0] > 0.01 && c.reduce(0, +) <= analysis.prediction.confidence + 1e-5, "\(turn.turn.text): \(e.words)")
        }
        #expect(last.words.prefix(3).contains { ["outrageous", "furious"].contains($0.word.trimmingCharacters(in: .punctuationCharacters)) },
                "\(last.words)")
        // Three turns: all three are listed, and from a risk of 0 their changes add up to the risk now.
        #expect(Set(last.escalationTurns.map(\.turnID)) == [1, 2, 3])
        #expect(abs(last.escalationTurns.reduce(0) { $0 + $1.riskChange } - out.last!.escalation!.risk) < 1e-5)
        // The risk history survives the state's bytes; without --explain only alert turns are explained.
        #expect(try all.decode(try all.encode(states["d"]!)) == states["d"]!)
        var again: [String: ModelAnalyzer.State] = [:]
        let plain = try analyzer(explainAll: false).analyze(turns, states: &again)
        #expect(plain.allSatisfy { ($0.explanation != nil) == ($0.escalation?.alert ?? false) })
    }
}
