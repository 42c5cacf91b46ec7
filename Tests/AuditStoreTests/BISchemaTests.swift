import Foundation
import Testing
@testable import AuditStore

/// What the schema offers BI teams: documentation, a read-only role, indexes their queries use.
@Suite struct BISchemaTests {
    func migrated() async throws -> AuditWriter {
        try await TestDatabase.migratedWriter()
    }

    @Test("every column of every table and view has a comment")
    func everyColumnDocumented() async throws {
        let writer = try await migrated()
        let missing = try await writer.query("""
            SELECT c.table_name || '.' || c.column_name
            FROM information_schema.columns c
            JOIN pg_class k ON k.relname = c.table_name AND k.relnamespace = to_regnamespace(c.table_schema)
            WHERE c.table_schema = current_schema() AND NOT k.relispartition AND col_description(k.oid, c.ordinal_position) IS NULL
            ORDER BY 1
            """)
        #expect(missing.isEmpty, "undocumented: \(missing.map { $0[0] ?? "" })")
        let tables = try await writer.query("""
            SELECT count(*) FROM pg_class k WHERE k.relnamespace = to_regnamespace(current_schema())
              AND k.relkind IN ('r', 'p', 'v') AND NOT k.relispartition AND obj_description(k.oid, 'pg_class') IS NULL
            """)
        #expect(tables[0][0] == "0")
    }

    @Test("plutchik_reader may read the BI tables and views, and nothing else")
    func readerRole() async throws {
        let writer = try await migrated()
        func may(_ table: String, _ privilege: String) async throws -> Bool {
            try await writer.query("SELECT has_table_privilege('plutchik_reader', $1, $2)", [table, privilege])[0][0] == "t"
        }
        for table in ["emotion_audit", "escalation_event", "dead_letter_audit", "dialogue_summary", "emotion_mix_hourly", "emotion_audit_shadow", "emotion_audit_flat", "emotion_hourly"] {
            #expect(try await may(table, "SELECT"), "\(table)")
            for write in ["INSERT", "UPDATE", "DELETE", "TRUNCATE"] { #expect(try await !may(table, write), "\(table) \(write)") }
        }
        #expect(try await !may("dialogue_state", "SELECT"))
        #expect(try await !may("plutchik_schema_migrations", "SELECT"))
    }

    /// 1M generated audit rows over 30 days, then the plans of the dashboard's and the README's
    /// time- and tenant-filtered queries: each reads an index, not the whole table.
    @Test("the dashboard's and the README's filtered queries use indexes on 1M rows")
    func plansOnAMillionRows() async throws {
        let writer = try await migrated()
        _ = try await writer.query("""
            INSERT INTO emotion_audit (event_id, source_topic, source_partition, source_offset, dialogue_id, turn_id, speaker,
                                       role, tenant, scenario, text_sha256, emotion, confidence, sector, ring, sarcasm, intensity,
                                       model_version, turn_ts, processed_at, event)
            SELECT 'e' || i, 'turns', i % 12, i, 'd' || (i / 8), i % 8, 'customer', 'customer', 'tenant-' || (i % 20),
                   's' || (i % 7), md5(i::text), 'anger', 0.5, 'anger', 'primary', 0.1, 0.5, 'v',
                   now() - (i * interval '2.6 seconds'), now() - (i * interval '2.6 seconds'), '{}'::jsonb
            FROM generate_series(1, 1000000) AS i
            """)
        _ = try await writer.query("ANALYZE emotion_audit")
        let queries = [
            // Grafana's panel, last 15 minutes.
            "SELECT date_trunc('minute', processed_at), sector, count(*) FROM emotion_audit WHERE processed_at > now() - interval '15 minutes' GROUP BY 1, 2",
            // One tenant's last day by event time.
            "SELECT sector, count(*) FROM emotion_audit WHERE tenant = 'tenant-3' AND turn_ts > now() - interval '1 day' GROUP BY 1",
            // One dialogue's turns in order.
            "SELECT turn_id, emotion FROM emotion_audit WHERE dialogue_id = 'd42' ORDER BY turn_ts",
        ]
        for sql in queries {
            let plan = try await writer.query("EXPLAIN " + sql).compactMap { $0[0] }.joined(separator: "\n")
            print("EXPLAIN \(sql)\n\(plan)\n")
            #expect(plan.contains("Index"), "\(sql)\n\(plan)")
            // Only empty partitions (the months ahead, the default one) may be read whole.
            for line in plan.split(separator: "\n") where line.contains("Seq Scan on ") {
                let table = line.split(separator: "Seq Scan on ")[1].split(separator: " ")[0]
                #expect(try await writer.query("SELECT count(*) FROM \(table)") == [["0"]], "\(table) read whole: \(sql)\n\(plan)")
            }
        }
    }

    func audit(_ offset: Int64, turn: Int, emotion: String = "anger", alert: Bool = false, event: String? = nil) -> AuditRow {
        AuditRow(eventID: "turns/0/\(offset)", sourceTopic: "turns", sourcePartition: 0, sourceOffset: offset,
                 dialogueID: "d1", turnID: "\(turn)", speaker: "customer", tenant: "acme", scenario: "billing", text: "t\(offset)",
                 emotion: emotion, confidence: 0.7, sector: emotion, ring: "primary", sarcasm: 0.1, intensity: Float(offset) / 10,
                 escalationAlert: alert, modelVersion: "test", turnTimestamp: Date(timeIntervalSince1970: 1_764_000_000 + 600 * Double(offset)),
                 processedAt: Date(), eventJSON: event ?? #"{"event_id":"turns/0/\#(offset)"}"#)
    }

    @Test("the hourly rollup counts each offset once, however often a batch is written, and the mix view reads it")
    func hourlyRollup() async throws {
        let writer = try await migrated()
        // Offsets 0–8, 10 minutes apart: hours of 6, 3 turns (1764000000 is 16:00 UTC).
        let batch = AuditBatch(audits: (0..<9).map { audit($0, turn: Int($0) + 1, emotion: $0 % 3 == 0 ? "joy" : "anger", alert: $0 == 4) })
        try await writer.write(batch)
        try await writer.write(batch)
        try await writer.write(AuditBatch(audits: Array(batch.audits.prefix(3))))
        let rows = try await writer.query("""
            SELECT to_char(hour AT TIME ZONE 'UTC', 'HH24'), emotion, turns, round(intensity_sum::numeric, 2), alerts
            FROM emotion_hourly ORDER BY 1, 2
            """)
        #expect(rows == [["16", "anger", "4", "1.20", "1"], ["16", "joy", "2", "0.30", "0"],
                         ["17", "anger", "2", "1.50", "0"], ["17", "joy", "1", "0.60", "0"]])
        let view = try await writer.query("SELECT sum(turns), round(sum(turns * mean_intensity)::numeric, 2) FROM emotion_mix_hourly")
        #expect(view == [["9", "3.60"]])
    }

    @Test("turn ids are integers: they order as numbers")
    func integerTurnIDs() async throws {
        let writer = try await migrated()
        try await writer.write(AuditBatch(audits: [audit(0, turn: 10), audit(1, turn: 2), audit(2, turn: 1)]))
        #expect(try await writer.query("SELECT turn_id FROM emotion_audit ORDER BY turn_id").map { $0[0] } == ["1", "2", "10"])
        #expect(try await writer.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'emotion_audit' AND column_name = 'turn_id'")
                == [["bigint"]])
    }

    @Test("the flat view has a column per primary score and escalation figure")
    func flatView() async throws {
        let writer = try await migrated()
        let event = #"{"primaries":{"joy":0.1,"trust":0.05,"fear":0.05,"surprise":0.05,"sadness":0.05,"disgust":0.1,"anger":0.55,"anticipation":0.05},"escalation":{"risk":0.7,"horizon_risk":0.8,"horizon_s":120,"trend":"rising","alert":true}}"#
        try await writer.write(AuditBatch(audits: [audit(0, turn: 1, event: event)]))
        let row = try await writer.query("""
            SELECT anger, joy, round((joy + trust + fear + surprise + sadness + disgust + anger + anticipation)::numeric, 3),
                   escalation_horizon_risk, escalation_horizon_seconds, escalation_trend, escalation_eta_seconds IS NULL
            FROM emotion_audit_flat
            """)
        #expect(row == [["0.55", "0.1", "1.000", "0.8", "120", "rising", "t"]])
    }

    @Test("existing audits are migrated, not dropped: text turn ids become integers and the rollup is backfilled")
    func migratesExistingData() async throws {
        let fm = FileManager.default
        let early = fm.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: early) }
        try fm.createDirectory(at: early, withIntermediateDirectories: true)
        for file in try SchemaMigrator(directory: TestDatabase.migrations).files() where file.lastPathComponent < "008" {
            try fm.copyItem(at: file, to: early.appendingPathComponent(file.lastPathComponent))
        }
        let db = try TestDatabase()
        let writer = try AuditWriter(configuration: .init(url: db.url))
        _ = try await writer.migrate(directory: early)
        _ = try await writer.query("""
            INSERT INTO emotion_audit (event_id, source_topic, source_partition, source_offset, dialogue_id, turn_id, speaker,
                                       text_sha256, emotion, confidence, sector, ring, sarcasm, intensity, model_version, turn_ts, processed_at, event)
            SELECT 'e' || i, 'turns', 0, i, 'd', i::text, 'c', 'x', 'joy', 0.5, 'joy', 'primary', 0, 0.5, 'old',
                   timestamptz '2026-01-01 10:00:00+00' + i * interval '1 minute', now(), '{}'
            FROM generate_series(1, 12) AS i RETURNING 1
            """)
        #expect(try await writer.migrate(directory: TestDatabase.migrations) == ["008_bi_turn_id_flat_rollups", "009_audit_partitions", "010_dialogue_summary_by_tenant", "011_redactions", "012_keyed_text_hash"])
        #expect(try await writer.query("SELECT min(turn_id), max(turn_id), count(*) FROM emotion_audit") == [["1", "12", "12"]])
        #expect(try await writer.query("SELECT DISTINCT tableoid::regclass::text FROM emotion_audit") == [["emotion_audit_202601"]])
        #expect(try await writer.query("SELECT sum(turns) FROM emotion_hourly") == [["12"]])
    }

    @Test("audits live in monthly partitions; the retention drops whole months and old rows of the default partition")
    func retention() async throws {
        let writer = try await migrated()
        _ = try await writer.query("SELECT plutchik_maintain_audit_partitions(0, 6)")
        _ = try await writer.query("""
            INSERT INTO emotion_audit (event_id, source_topic, source_partition, source_offset, dialogue_id, turn_id, speaker,
                                       text_sha256, emotion, confidence, sector, ring, sarcasm, intensity, model_version, turn_ts, processed_at, event)
            SELECT 'e' || m, 'turns', 0, m, 'd', m, 'c', 'x', 'joy', 0.5, 'joy', 'primary', 0, 0.5, 'v',
                   now() - make_interval(months => m), now(), '{}'
            FROM unnest(ARRAY[0, 2, 5, 10]) AS m RETURNING 1
            """)
        #expect(try await writer.query("SELECT tableoid::regclass::text FROM emotion_audit WHERE source_offset = 10") == [["emotion_audit_default"]])
        #expect(try await writer.maintainAuditPartitions(retentionMonths: 0) == 0)
        #expect(try await writer.maintainAuditPartitions(retentionMonths: 3) >= 3, "the partitions 4, 5 and 6 months back")
        #expect(try await writer.query("SELECT source_offset FROM emotion_audit ORDER BY 1").map { $0[0] } == ["0", "2"])
        let months = try await writer.query("""
            SELECT count(*) FROM pg_inherits WHERE inhparent = 'emotion_audit'::regclass
            """)
        #expect(months == [["7"]], "the months from 3 back to 2 ahead, and the default partition")
    }
}
