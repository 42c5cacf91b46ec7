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
            WHERE c.table_schema = current_schema() AND col_description(k.oid, c.ordinal_position) IS NULL
            ORDER BY 1
            """)
        #expect(missing.isEmpty, "undocumented: \(missing.map { $0[0] ?? "" })")
        let tables = try await writer.query("""
            SELECT count(*) FROM pg_class k WHERE k.relnamespace = to_regnamespace(current_schema())
              AND k.relkind IN ('r', 'v') AND obj_description(k.oid, 'pg_class') IS NULL
            """)
        #expect(tables[0][0] == "0")
    }

    @Test("plutchik_reader may read the BI tables and views, and nothing else")
    func readerRole() async throws {
        let writer = try await migrated()
        func may(_ table: String, _ privilege: String) async throws -> Bool {
            try await writer.query("SELECT has_table_privilege('plutchik_reader', $1, $2)", [table, privilege])[0][0] == "t"
        }
        for table in ["emotion_audit", "escalation_event", "dead_letter_audit", "dialogue_summary", "emotion_mix_hourly", "emotion_audit_shadow"] {
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
            SELECT 'e' || i, 'turns', i % 12, i, 'd' || (i / 8), (i % 8)::text, 'customer', 'customer', 'tenant-' || (i % 20),
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
            #expect(!plan.contains("Seq Scan on emotion_audit"), "\(sql)\n\(plan)")
        }
    }
}
