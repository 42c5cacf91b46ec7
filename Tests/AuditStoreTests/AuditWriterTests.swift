import Crypto
import Foundation
import Testing
@testable import AuditStore

@Suite("PostgreSQL audit store", .timeLimit(.minutes(2)))
struct AuditWriterTests {
    func audit(_ offset: Int64, dialogue: String = "d1", text: String = "hello\tworld\n\\ \"quoted\" ✓") -> AuditRow {
        AuditRow(eventID: "turns/0/\(offset)", sourceTopic: "turns", sourcePartition: 0, sourceOffset: offset,
                 dialogueID: dialogue, turnID: "\(offset)", speaker: "customer", role: "customer", tenant: "acme",
                 scenario: "billing", text: text, emotion: "anger", confidence: 0.7, sector: "anger", ring: "primary",
                 sarcasm: 0.1, intensity: 0.5, neutral: offset == 3 ? 0.9 : 0.1, isNeutral: offset == 3,
                 escalationRisk: 0.4, escalationAlert: offset == 2, modelVersion: "test",
                 turnTimestamp: Date(timeIntervalSince1970: 1_764_000_000.25 + Double(offset)), processedAt: Date(),
                 eventJSON: #"{"event_id":"turns/0/\#(offset)","text":"a\tb"}"#)
    }

    @Test("migrations apply once and are idempotent")
    func migrationsIdempotent() async throws {
        let db = try TestDatabase()
        let writer = try AuditWriter(configuration: .init(url: db.url))
        let first = try await writer.migrate(directory: TestDatabase.migrations)
        #expect(first == ["001_init", "002_dialogue_state_turn_time", "003_neutral_gate", "004_state_versions_dead_letters", "005_caller_attributes",
                          "006_bi_comments_reader_indexes", "007_shadow_predictions",
                          "008_bi_turn_id_flat_rollups", "009_audit_partitions", "010_dialogue_summary_by_tenant", "011_redactions", "012_keyed_text_hash"])
        let second = try await writer.migrate(directory: TestDatabase.migrations)
        #expect(second.isEmpty)
        let views = try await writer.query("SELECT count(*) FROM pg_views WHERE viewname IN ('dialogue_summary', 'emotion_mix_hourly')")
        #expect(views[0][0] == "2")
    }

    @Test("writing the same batch twice stores each audit once, with text and hash round-tripped")
    func idempotentWrites() async throws {
        let writer = try await TestDatabase.migratedWriter()
        let batch = AuditBatch(
            audits: (0..<5).map { audit($0) },
            states: [DialogueStateRow(dialogueID: "d1", sourceTopic: "turns", sourcePartition: 0, lastOffset: 4, state: [0, 1, 2, 255])],
            escalations: [EscalationRow(eventID: "turns/0/2", dialogueID: "d1", turnID: "2", tenant: "acme", risk: 0.8,
                                        horizonSeconds: 120, trend: "rising", alertJSON: "{}", raisedAt: Date())])
        try await writer.write(batch)
        try await writer.write(batch)
        let rows = try await writer.query("SELECT count(*), count(DISTINCT source_offset) FROM emotion_audit")
        #expect(rows[0] == ["5", "5"])
        let neutral = try await writer.query("SELECT source_offset, neutral, is_neutral FROM emotion_audit WHERE is_neutral")
        #expect(neutral == [["3", "0.9", "t"]])
        let summary = try await writer.query("SELECT turns, neutral_turns FROM dialogue_summary")
        #expect(summary == [["5", "1"]])
        let text = try await writer.query("SELECT text, text_sha256, turn_ts = to_timestamp(1764000000.25) FROM emotion_audit WHERE source_offset = 0")
        #expect(text[0][0] == audit(0).text)
        #expect(text[0][1]?.count == 64)
        #expect(text[0][2] == "t")
        let escalations = try await writer.query("SELECT count(*) FROM escalation_event")
        #expect(escalations[0][0] == "1")
        let states = try await writer.loadStates(topic: "turns", partitions: [0: nil])
        #expect(states == [DialogueStateRow(dialogueID: "d1", sourceTopic: "turns", sourcePartition: 0, lastOffset: 4, state: [0, 1, 2, 255])])
        let events = try await writer.loadEvents(topic: "turns", partition: 0, offsets: [1, 3, 99])
        #expect(events.keys.sorted() == [1, 3])
        #expect(events[1]?.json.contains("turns/0/1") == true)
        #expect(events[1]?.dialogueID == audit(1).dialogueID && events[1]?.turnID == audit(1).turnID && events[1]?.tenant == audit(1).tenant)
    }

    @Test("an older state never overwrites a newer one")
    func stateMonotonic() async throws {
        let writer = try await TestDatabase.migratedWriter()
        func state(_ offset: Int64) -> AuditBatch {
            AuditBatch(states: [DialogueStateRow(dialogueID: "d", sourceTopic: "turns", sourcePartition: 1, lastOffset: offset, state: [UInt8(offset)])])
        }
        try await writer.write(state(10))
        try await writer.write(state(7))
        #expect(try await writer.loadStates(topic: "turns", partitions: [1: nil]).first?.lastOffset == 10)
        try await writer.write(state(12))
        #expect(try await writer.loadStates(topic: "turns", partitions: [1: nil]).first?.state == [12])
    }

    @Test("batches finished together are written in one transaction, each dialogue's state once: the latest")
    func coalescedBatches() async throws {
        let writer = try await TestDatabase.migratedWriter()
        func state(_ id: String, _ offset: Int64) -> DialogueStateRow {
            DialogueStateRow(dialogueID: id, sourceTopic: "turns", sourcePartition: 2, lastOffset: offset, state: [UInt8(offset)])
        }
        var merged = AuditBatch(states: [state("a", 1), state("b", 2)])
        merged.append(AuditBatch(states: [state("a", 3), state("c", 4)]))
        merged.append(AuditBatch(states: [state("a", 5)]))
        #expect(merged.states.map(\.dialogueID) == ["b", "c", "a"] && merged.states.map(\.lastOffset) == [2, 4, 5])
        try await writer.write(merged)
        let loaded = try await writer.loadStates(topic: "turns", partitions: [2: nil])
        #expect(Dictionary(uniqueKeysWithValues: loaded.map { ($0.dialogueID, $0.state) }) == ["a": [5], "b": [2], "c": [4]])
    }

    @Test("evicted dialogues are reloaded by id, whatever characters the id holds, from their own topic only")
    func statesByDialogueID() async throws {
        let writer = try await TestDatabase.migratedWriter()
        let ids = [#"a,b"#, #"q"u'o{te}"#, "ünï 😀", "plain"]
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try await writer.write(AuditBatch(states: ids.enumerated().map { i, id in
            DialogueStateRow(dialogueID: id, sourceTopic: "turns", sourcePartition: Int32(i), lastOffset: Int64(10 + i), state: [UInt8(i)], lastTurnAt: at)
        } + [DialogueStateRow(dialogueID: "other-topic", sourceTopic: "elsewhere", sourcePartition: 0, lastOffset: 1, state: [9])]))
        let rows = try await writer.loadStates(topic: "turns", dialogueIDs: Array(ids.prefix(3)) + ["other-topic", "missing"])
        #expect(Set(rows.map(\.dialogueID)) == Set(ids.prefix(3)))
        for row in rows {
            let i = try #require(ids.firstIndex(of: row.dialogueID))
            #expect(row.sourcePartition == Int32(i) && row.lastOffset == Int64(10 + i) && row.state == [UInt8(i)])
            #expect(abs((row.lastTurnAt ?? .distantPast).timeIntervalSince(at)) < 0.001)
        }
        #expect(try await writer.loadStates(topic: "turns", dialogueIDs: []).isEmpty)
    }

    @Test("an assignment loads the dialogues inside the idle window, among the last records, and older ones past the committed offset")
    func loadsRecentStates() async throws {
        let writer = try await TestDatabase.migratedWriter()
        let newest = Date(timeIntervalSince1970: 1_764_000_000)
        func row(_ id: String, _ offset: Int64, minutesBefore: Double?) -> DialogueStateRow {
            DialogueStateRow(dialogueID: id, sourceTopic: "turns", sourcePartition: 2, lastOffset: offset, state: [1],
                             lastTurnAt: minutesBefore.map { newest.addingTimeInterval(-60 * $0) })
        }
        try await writer.write(AuditBatch(states: [
            row("new", 50, minutesBefore: 0), row("recent", 40, minutesBefore: 29), row("old", 10, minutesBefore: 120),
            row("old-uncommitted", 45, minutesBefore: 90), row("unknown-time", 5, minutesBefore: nil),
        ]))
        func ids(committed: Int64?, window: TimeInterval?) async throws -> Set<String> {
            Set(try await writer.loadStates(topic: "turns", partitions: [2: committed], window: window).map(\.dialogueID))
        }
        #expect(try await ids(committed: 42, window: 1800) == ["new", "recent", "old-uncommitted", "unknown-time"])
        #expect(try await ids(committed: nil, window: 1800) == ["new", "recent", "old", "old-uncommitted", "unknown-time"])
        #expect(try await ids(committed: 42, window: nil).count == 5)
        // Among the partition's last 6 records by offset (45 and 50 of newest 50): loaded whatever their time.
        #expect(Set(try await writer.loadStates(topic: "turns", partitions: [2: 100], window: 1800, recentRecords: 6).map(\.dialogueID))
                == ["new", "recent", "old-uncommitted", "unknown-time"])
        #expect(Set(try await writer.loadStates(topic: "turns", partitions: [2: 100], window: 1800, recentRecords: 5).map(\.dialogueID))
                == ["new", "recent", "unknown-time"])
        let recent = try await writer.loadStates(topic: "turns", partitions: [2: 42], window: 1800).first { $0.dialogueID == "recent" }
        #expect(recent?.lastTurnAt.map { abs($0.timeIntervalSince(newest.addingTimeInterval(-29 * 60))) < 0.001 } == true)
    }

    @Test("dormant dialogue states are pruned by write time")
    func pruneStates() async throws {
        let writer = try await TestDatabase.migratedWriter()
        try await writer.write(AuditBatch(states: ["dormant", "active"].map {
            DialogueStateRow(dialogueID: $0, sourceTopic: "turns", sourcePartition: 0, lastOffset: 1, state: [1])
        }))
        _ = try await writer.query("UPDATE dialogue_state SET updated_at = now() - interval '8 days' WHERE dialogue_id = 'dormant' RETURNING 1")
        #expect(try await writer.pruneStates(olderThan: 7 * 24 * 3600) == 1)
        #expect(try await writer.loadStates(topic: "turns", partitions: [0: nil]).map(\.dialogueID) == ["active"])
        #expect(try await writer.pruneStates(olderThan: 7 * 24 * 3600) == 0)
    }

    @Test("with hashTexts on, only the keyed hash is stored: HMAC-SHA-256 under the database's key, or the configured one")
    func hashedTexts() async throws {
        let writer = try await TestDatabase.migratedWriter(hashTexts: true)
        try await writer.write(AuditBatch(audits: [audit(0, text: "abc")]))
        let row = try await writer.query("SELECT text, text_sha256, text_hash_keyed FROM emotion_audit")
        let key = try #require(try await writer.query("SELECT encode(key, 'hex') FROM plutchik_text_hash_key").first?[0])
        #expect(key.count == 64)
        #expect(row == [[nil, AuditWriter.textHash("abc", key: SymmetricKey(data: bytes(fromHex: key))), "t"]])
        // Not the unkeyed SHA-256 a short text could be found from.
        #expect(row[0][1] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // A configured key is used instead; the BI role may not read the database's.
        let configured = try AuditWriter(configuration: .init(url: writer.configuration.url, hashTexts: true, textHashKey: Array("sixteen byte key".utf8)))
        try await configured.write(AuditBatch(audits: [audit(1, text: "abc")]))
        let second = try await writer.query("SELECT text_sha256 FROM emotion_audit WHERE source_offset = 1")
        #expect(second == [[AuditWriter.textHash("abc", key: SymmetricKey(data: Array("sixteen byte key".utf8)))]])
        #expect(try await writer.query("SELECT has_table_privilege('plutchik_reader', 'plutchik_text_hash_key', 'SELECT')") == [["f"]])
    }

    @Test("a row's own hashText (its tenant's policy) wins over the writer's setting either way")
    func hashedPerRow() async throws {
        let writer = try await TestDatabase.migratedWriter()
        var hashed = audit(1, text: "abc")
        hashed.hashText = true
        try await writer.write(AuditBatch(audits: [audit(0, text: "abc"), hashed]))
        let rows = try await writer.query("SELECT text, text_sha256 FROM emotion_audit ORDER BY source_offset")
        #expect(rows[0][0] == "abc" && rows[1][0] == nil && rows[0][1] == rows[1][1] && rows[0][1]?.count == 64,
                "kept or dropped, a text has one hash")
        // A row's own false wins over a writer that hashes by default.
        let hashing = try await TestDatabase.migratedWriter(hashTexts: true)
        var kept = audit(0, text: "abc")
        kept.hashText = false
        try await hashing.write(AuditBatch(audits: [kept, audit(1, text: "abc")]))
        #expect(try await hashing.query("SELECT text FROM emotion_audit ORDER BY source_offset") == [["abc"], [nil]])
    }

    @Test("a failed batch rolls back entirely and the writer stays usable")
    func rollback() async throws {
        let writer = try await TestDatabase.migratedWriter()
        var bad = audit(1)
        bad.eventJSON = "not json"
        await #expect(throws: PostgresError.self) { try await writer.write(AuditBatch(audits: [audit(0), bad])) }
        #expect(try await writer.query("SELECT count(*) FROM emotion_audit")[0][0] == "0")
        try await writer.write(AuditBatch(audits: [audit(0)]))
        #expect(try await writer.query("SELECT count(*) FROM emotion_audit")[0][0] == "1")
    }

    @Test("an unreachable server is a retriable connection error, and the password never shows")
    func unreachable() throws {
        #expect {
            _ = try AuditWriter(configuration: .init(url: "postgresql://u:s3cret@127.0.0.1:1/x?connect_timeout=2"))
        } throws: { error in
            guard let e = error as? PostgresError else { return false }
            return e.code == .connection && e.isRetriable && !"\(e)".contains("s3cret")
        }
        #expect(PostgresConnection.redact("host=x password=hunter2 user=u") == "host=x password=*** user=u")
    }

    /// A server that holds its connections open but stops answering (SIGSTOPped, stuck on storage)
    /// is invisible to libpq's timeouts; `pg_sleep` is such a server, seen from the client.
    @Test("a call the server does not answer fails as retriable at the operation timeout; the next call reconnects")
    func unansweredCall() async throws {
        var configuration = AuditWriter.Configuration(url: try TestDatabase.serverURL)
        configuration.operationTimeout = .seconds(1)
        let writer = try AuditWriter(configuration: configuration)
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await writer.query("SELECT pg_sleep(30)") }
        // Without the timeout the call returns after 30 s. The bound leaves room for the seconds
        // other suites' work can hold the cooperative threads at the start of a parallel run.
        #expect(ContinuousClock.now - started < .seconds(25))
        #expect(error?.code == .connection)
        #expect(error?.isRetriable == true)
        #expect(error?.message.contains("did not answer within 1") == true, "\(String(describing: error))")
        #expect(try await writer.query("SELECT 1") == [["1"]])
    }
}
