import Crypto
import Foundation
import Synchronization

/// Writes audits, escalation alerts and dialogue state to PostgreSQL, one transaction per batch.
///
/// Each batch is COPYed into temporary staging tables, then moved with
/// `INSERT … ON CONFLICT`, so writing the same batch twice changes nothing: a replay after a crash
/// never duplicates an audit row. An audit row at the same offset for another turn (the topic was
/// recreated and its offsets started again) is replaced, with its escalation row.
public final class AuditWriter: Sendable {
    /// How the writer connects and what it stores.
    public struct Configuration: Sendable {
        /// A `postgresql://` URL; TLS follows its `sslmode`.
        public var url: String
        /// Store only the keyed hash of each text, not the text (PII option), for rows without their
        /// own ``AuditRow/hashText``.
        public var hashTexts: Bool = false
        /// The key of `text_sha256` (HMAC-SHA-256 of each text; at least 16 bytes); nil: the
        /// database's own, made by migration 012 and read at the first write.
        public var textHashKey: [UInt8]?
        /// Longest wait for the server on any call but ``AuditWriter/migrate(directory:)``; past it
        /// the connection is dropped and the call fails as retriable. `nil` waits for ever.
        public var operationTimeout: Duration? = .seconds(60)

        public init(url: String, hashTexts: Bool = false, textHashKey: [UInt8]? = nil, operationTimeout: Duration? = .seconds(60)) {
            self.url = url
            self.hashTexts = hashTexts
            self.textHashKey = textHashKey
            self.operationTimeout = operationTimeout
        }
    }

    public let configuration: Configuration
    private let connection: PostgresConnection
    /// The text hash's key once known (the configured one, or the database's).
    private let textHashKey: Mutex<SymmetricKey?>

    /// Connects; throws a retriable ``PostgresError`` if the server cannot be reached.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        connection = try PostgresConnection(url: configuration.url)
        textHashKey = Mutex(configuration.textHashKey.map { SymmetricKey(data: $0) })
    }

    /// Hex HMAC-SHA-256 of `text`'s UTF-8 bytes under `key`: what `text_sha256` holds.
    public static func textHash(_ text: String, key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// The text hash's key: the configured one, else the database's (read once).
    private func hashKey(on c: PostgresConnection) throws -> SymmetricKey {
        if let key = textHashKey.withLock({ $0 }) { return key }
        guard let hex = try c.query("SELECT encode(key, 'hex') FROM plutchik_text_hash_key").first?[0] ?? nil else {
            throw PostgresError(.migration, "the database has no text hash key (plutchik_text_hash_key): apply the migrations (plutchik migrate)")
        }
        let key = SymmetricKey(data: bytes(fromHex: hex))
        textHashKey.withLock { $0 = key }
        return key
    }

    /// The URL with its password hidden.
    public var redactedURL: String { connection.redactedURL }

    /// Applies the migrations in `directory`; returns the versions applied now.
    @discardableResult
    public func migrate(directory: URL) async throws -> [String] {
        // No timeout: a migration may rewrite a large table.
        try await connection.run(timeout: nil) { try SchemaMigrator(directory: directory).migrate($0) }
    }

    /// Runs `body` on the connection, bounded by the configured ``Configuration/operationTimeout``.
    private func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await connection.run(timeout: configuration.operationTimeout, body)
    }

    /// Checks the server answers.
    public func ping() async throws {
        _ = try await run { try $0.query("SELECT 1") }
    }

    /// Writes one batch in one transaction. Idempotent.
    public func write(_ batch: AuditBatch) async throws {
        let hash = configuration.hashTexts
        try await run { c in
            try c.execute("BEGIN")
            do {
                try Self.write(batch, hashTexts: hash, key: try self.hashKey(on: c), on: c)
                try c.execute("COMMIT")
            } catch {
                try? c.execute("ROLLBACK")
                throw error
            }
        }
    }

    private static let auditColumns = [
        "event_id", "source_topic", "source_partition", "source_offset", "dialogue_id", "turn_id", "speaker",
        "role", "tenant", "scenario", "topic", "channel", "attributes", "text", "text_sha256", "emotion", "confidence",
        "sector", "ring", "sarcasm", "intensity", "neutral", "is_neutral", "escalation_risk", "escalation_alert", "model_version",
        "turn_ts", "processed_at", "event", "redactions",
    ]
    private static let stateColumns = ["dialogue_id", "source_topic", "source_partition", "last_offset", "state", "last_turn_at",
                                       "state_format", "model_version"]
    private static let deadLetterColumns = ["source_topic", "source_partition", "source_offset", "code", "reason", "value_bytes"]
    private static let shadowColumns = [
        "source_topic", "source_partition", "source_offset", "dialogue_id", "turn_id", "model_version", "emotion", "confidence",
        "sector", "sarcasm", "intensity", "neutral", "is_neutral", "escalation_risk", "escalation_alert", "processed_at",
    ]
    private static let escalationColumns = [
        "event_id", "dialogue_id", "turn_id", "tenant", "risk", "horizon_seconds", "trend", "alert", "raised_at",
    ]

    private static func write(_ batch: AuditBatch, hashTexts: Bool, key: SymmetricKey, on c: PostgresConnection) throws {
        if !batch.audits.isEmpty {
            let rows = batch.audits.map { a -> [String?] in
                [a.eventID, a.sourceTopic, String(a.sourcePartition), String(a.sourceOffset), a.dialogueID, a.turnID,
                 a.speaker, a.role, a.tenant, a.scenario, a.topic, a.channel, a.attributesJSON, a.text, ((a.hashText ?? hashTexts) ? "drop:" : "") + textHash(a.text, key: key), a.emotion,
                 String(a.confidence), a.sector, a.ring, String(a.sarcasm), String(a.intensity),
                 a.neutral.map { String($0) }, a.isNeutral ? "t" : "f", a.escalationRisk.map { String($0) }, a.escalationAlert ? "t" : "f", a.modelVersion,
                 timestamp(a.turnTimestamp), timestamp(a.processedAt), a.eventJSON, a.redactionsJSON]
            }
            // The text is dropped from the rows to store hashed: those whose staged hash starts "drop:".
            let select = auditColumns.map { col -> String in
                switch col {
                case "text_sha256": return "CASE WHEN text_sha256 LIKE 'drop:%' THEN substr(text_sha256, 6) ELSE text_sha256 END"
                case "text": return "CASE WHEN text_sha256 LIKE 'drop:%' THEN NULL ELSE text END"
                default: return col
                }
            }
            // Same offset, same turn: a replay, nothing changes. Same offset, another turn (or
            // another time): the topic was recreated; the new turn's audit replaces the old one
            // and its alert row. The rows inserted are added to the hourly rollup.
            let sameOffset = "a.source_topic = s.source_topic AND a.source_partition = s.source_partition AND a.source_offset = s.source_offset"
            let otherTurn = "(a.dialogue_id <> s.dialogue_id OR a.turn_id <> s.turn_id OR a.turn_ts <> s.turn_ts)"
            try stage("emotion_audit", auditColumns, rows, on: c, then: """
                WITH replaced AS (DELETE FROM emotion_audit a USING emotion_audit_stage s WHERE \(sameOffset) AND \(otherTurn)
                                  RETURNING a.event_id)
                DELETE FROM escalation_event e USING replaced r WHERE e.event_id = r.event_id;
                WITH written AS (
                    INSERT INTO emotion_audit (\(auditColumns.joined(separator: ", ")))
                    SELECT \(select.joined(separator: ", ")) FROM emotion_audit_stage
                    ON CONFLICT (source_topic, source_partition, source_offset, turn_ts) DO NOTHING
                    RETURNING turn_ts, tenant, scenario, sector, emotion, is_neutral, intensity, escalation_alert)
                INSERT INTO emotion_hourly (hour, tenant, scenario, sector, emotion, is_neutral, turns, intensity_sum, alerts)
                SELECT date_trunc('hour', turn_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', coalesce(tenant, ''), coalesce(scenario, ''),
                       sector, emotion, is_neutral, count(*), sum(intensity), count(*) FILTER (WHERE escalation_alert)
                FROM written GROUP BY 1, 2, 3, 4, 5, 6
                ON CONFLICT (hour, tenant, scenario, emotion, is_neutral) DO UPDATE
                SET turns = emotion_hourly.turns + EXCLUDED.turns, intensity_sum = emotion_hourly.intensity_sum + EXCLUDED.intensity_sum,
                    alerts = emotion_hourly.alerts + EXCLUDED.alerts
                """)
        }
        if !batch.states.isEmpty {
            // One row per dialogue: the last state in the batch wins.
            var last: [String: DialogueStateRow] = [:]
            for s in batch.states { last[s.dialogueID] = s }
            let rows = last.values.sorted { $0.dialogueID < $1.dialogueID }.map { s -> [String?] in
                [s.dialogueID, s.sourceTopic, String(s.sourcePartition), String(s.lastOffset), hexBytea(s.state),
                 s.lastTurnAt.map(timestamp), String(s.stateFormat), s.modelVersion]
            }
            // A replayed (older) state never overwrites a newer one from the same partition.
            try stage("dialogue_state", stateColumns, rows, on: c, then: """
                INSERT INTO dialogue_state (\(stateColumns.joined(separator: ", ")))
                SELECT \(stateColumns.joined(separator: ", ")) FROM dialogue_state_stage
                ON CONFLICT (dialogue_id) DO UPDATE SET
                    source_topic = EXCLUDED.source_topic, source_partition = EXCLUDED.source_partition,
                    last_offset = EXCLUDED.last_offset, state = EXCLUDED.state, last_turn_at = EXCLUDED.last_turn_at,
                    state_format = EXCLUDED.state_format, model_version = EXCLUDED.model_version, updated_at = now()
                WHERE dialogue_state.source_topic <> EXCLUDED.source_topic
                   OR dialogue_state.source_partition <> EXCLUDED.source_partition
                   OR dialogue_state.last_offset < EXCLUDED.last_offset
                """)
        }
        if !batch.escalations.isEmpty {
            let rows = batch.escalations.map { e -> [String?] in
                [e.eventID, e.dialogueID, e.turnID, e.tenant, String(e.risk), e.horizonSeconds.map { String($0) },
                 e.trend, e.alertJSON, timestamp(e.raisedAt)]
            }
            try stage("escalation_event", escalationColumns, rows, on: c, then: """
                INSERT INTO escalation_event (\(escalationColumns.joined(separator: ", ")))
                SELECT \(escalationColumns.joined(separator: ", ")) FROM escalation_event_stage
                ON CONFLICT (event_id) DO NOTHING
                """)
        }
        if !batch.shadows.isEmpty {
            let rows = batch.shadows.map { r -> [String?] in
                [r.sourceTopic, String(r.sourcePartition), String(r.sourceOffset), r.dialogueID, r.turnID, r.modelVersion, r.emotion,
                 String(r.confidence), r.sector, String(r.sarcasm), String(r.intensity), r.neutral.map { String($0) }, r.isNeutral ? "t" : "f",
                 r.escalationRisk.map { String($0) }, r.escalationAlert ? "t" : "f", timestamp(r.processedAt)]
            }
            try stage("emotion_audit_shadow", shadowColumns, rows, on: c, then: """
                INSERT INTO emotion_audit_shadow (\(shadowColumns.joined(separator: ", ")))
                SELECT \(shadowColumns.joined(separator: ", ")) FROM emotion_audit_shadow_stage
                ON CONFLICT (source_topic, source_partition, source_offset, model_version) DO NOTHING
                """)
        }
        if !batch.deadLetters.isEmpty {
            let rows = batch.deadLetters.map { d -> [String?] in
                [d.sourceTopic, String(d.sourcePartition), String(d.sourceOffset), d.code, d.reason, String(d.valueBytes)]
            }
            try stage("dead_letter_audit", deadLetterColumns, rows, on: c, then: """
                INSERT INTO dead_letter_audit (\(deadLetterColumns.joined(separator: ", ")))
                SELECT \(deadLetterColumns.joined(separator: ", ")) FROM dead_letter_audit_stage
                ON CONFLICT DO NOTHING
                """)
        }
    }

    /// COPYs `rows` into `<table>_stage`, a session-local empty copy of `table`'s `columns`, then
    /// runs `insert`, which moves them into `table`.
    private static func stage(_ table: String, _ columns: [String], _ rows: [[String?]], on c: PostgresConnection,
                              then insert: String) throws {
        let list = columns.joined(separator: ", ")
        try c.execute("CREATE TEMP TABLE IF NOT EXISTS \(table)_stage AS SELECT \(list) FROM \(table) WITH NO DATA")
        try c.execute("TRUNCATE \(table)_stage")
        var copy = CopyEncoder()
        for row in rows { copy.row(row) }
        try c.copyIn("COPY \(table)_stage (\(list)) FROM STDIN", copy.bytes)
        try c.execute(insert)
    }

    /// The dialogue states of these partitions worth loading on assignment: those whose last turn
    /// lies within `window` of the partition's newest (event time, so a backlog keeps its
    /// windows), those among the partition's last `recentRecords` records by offset (a backfill
    /// need not be in time order), and those at or past the partition's committed offset (their
    /// records may be read again and must be recognised as replays). A nil committed offset or
    /// window loads them all.
    public func loadStates(topic: String, partitions: [Int32: Int64?], window: TimeInterval? = nil,
                           recentRecords: Int64 = 0) async throws -> [DialogueStateRow] {
        guard !partitions.isEmpty else { return [] }
        let ps = partitions.keys.sorted()
        let parts = "{" + ps.map(String.init).joined(separator: ",") + "}"
        let committed = "{" + ps.map { String(partitions[$0].flatMap { $0 } ?? -1) }.joined(separator: ",") + "}"
        return try await run { c in
            try c.query("""
                WITH p AS (SELECT * FROM unnest($2::int[], $3::bigint[]) AS t(part, committed)),
                marks AS (SELECT source_partition AS part, max(last_turn_at) AS mark, max(last_offset) AS newest FROM dialogue_state
                          WHERE source_topic = $1 AND source_partition = ANY($2::int[]) GROUP BY source_partition)
                SELECT d.dialogue_id, d.source_partition, d.last_offset, encode(d.state, 'hex'), extract(epoch FROM d.last_turn_at)::float8,
                       d.state_format, d.model_version
                FROM dialogue_state d JOIN p ON p.part = d.source_partition LEFT JOIN marks m ON m.part = d.source_partition
                WHERE d.source_topic = $1
                  AND ($4::float8 IS NULL OR d.last_turn_at IS NULL OR d.last_turn_at >= m.mark - make_interval(secs => $4::float8)
                       OR d.last_offset > m.newest - $5::bigint OR d.last_offset >= p.committed)
                """, [topic, parts, committed, window.map { String($0) }, String(recentRecords)]).map { Self.stateRow($0, topic: topic) }
        }
    }

    /// The stored states of these dialogues of `topic` (evicted dialogues, come back).
    public func loadStates(topic: String, dialogueIDs: [String]) async throws -> [DialogueStateRow] {
        guard !dialogueIDs.isEmpty else { return [] }
        let ids = String(decoding: try JSONEncoder().encode(dialogueIDs), as: UTF8.self)
        return try await run { c in
            try c.query("""
                SELECT dialogue_id, source_partition, last_offset, encode(state, 'hex'), extract(epoch FROM last_turn_at)::float8,
                       state_format, model_version
                FROM dialogue_state
                WHERE source_topic = $1 AND dialogue_id IN (SELECT jsonb_array_elements_text($2::jsonb))
                """, [topic, ids]).map { Self.stateRow($0, topic: topic) }
        }
    }

    /// A `dialogue_state` row selected as (dialogue_id, source_partition, last_offset, state hex,
    /// last_turn_at epoch, state_format, model_version).
    static func stateRow(_ r: [String?], topic: String) -> DialogueStateRow {
        DialogueStateRow(dialogueID: r[0] ?? "", sourceTopic: topic, sourcePartition: Int32(r[1] ?? "") ?? 0,
                         lastOffset: Int64(r[2] ?? "") ?? -1, state: bytes(fromHex: r[3] ?? ""),
                         lastTurnAt: r[4].flatMap(Double.init).map { Date(timeIntervalSince1970: $0) },
                         stateFormat: r[5].flatMap { Int($0) } ?? 0, modelVersion: r[6])
    }

    /// Creates `emotion_audit`'s monthly partitions for this month and the next two, and with a
    /// retention of `retentionMonths` (0: keep everything) drops those of older months; returns how
    /// many were dropped.
    @discardableResult
    public func maintainAuditPartitions(retentionMonths: Int) async throws -> Int {
        try await run { c in
            Int(try c.query("SELECT plutchik_maintain_audit_partitions($1::integer)", [String(retentionMonths)]).first?.first.flatMap { $0 } ?? "0") ?? 0
        }
    }

    /// Deletes the state of dialogues not written for `age` seconds; returns how many.
    @discardableResult
    public func pruneStates(olderThan age: TimeInterval) async throws -> Int {
        try await run { c in
            let rows = try c.query("""
                WITH gone AS (DELETE FROM dialogue_state WHERE updated_at < now() - make_interval(secs => $1::float8) RETURNING 1)
                SELECT count(*) FROM gone
                """, [String(age)])
            return Int(rows.first?.first.flatMap { $0 } ?? "0") ?? 0
        }
    }

    /// An audited turn's identity and published event, for a replay.
    public struct AuditedEvent: Sendable, Equatable {
        public var dialogueID: String
        public var turnID: String
        /// The turn's tenant (part of its dialogue's identity).
        public var tenant: String?
        /// The event as published.
        public var json: String
    }

    /// The audited turns at these offsets of one partition, by offset.
    public func loadEvents(topic: String, partition: Int32, offsets: [Int64]) async throws -> [Int64: AuditedEvent] {
        guard !offsets.isEmpty else { return [:] }
        let list = "{" + offsets.map(String.init).joined(separator: ",") + "}"
        return try await run { c in
            let rows = try c.query("""
                SELECT source_offset, dialogue_id, turn_id, event::text, tenant FROM emotion_audit
                WHERE source_topic = $1 AND source_partition = $2 AND source_offset = ANY($3::bigint[])
                """, [topic, String(partition), list])
            var out: [Int64: AuditedEvent] = [:]
            for r in rows {
                if let o = r[0].flatMap({ Int64($0) }), let d = r[1], let t = r[2], let e = r[3] {
                    out[o] = AuditedEvent(dialogueID: d, turnID: t, tenant: r[4], json: e)
                }
            }
            return out
        }
    }

    /// Runs a read-only query and returns text rows; for tests and tools.
    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> [[String?]] {
        try await run { try $0.query(sql, parameters) }
    }
}

/// Rows in COPY's text format.
struct CopyEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func row(_ fields: [String?]) {
        for (i, f) in fields.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: "\t")) }
            guard let f else { bytes.append(contentsOf: Array(#"\N"#.utf8)); continue }
            for b in f.utf8 {
                switch b {
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
                case UInt8(ascii: "\t"): bytes.append(contentsOf: [92, UInt8(ascii: "t")])
                case UInt8(ascii: "\n"): bytes.append(contentsOf: [92, UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): bytes.append(contentsOf: [92, UInt8(ascii: "r")])
                case 0: continue  // PostgreSQL text cannot hold NUL
                default: bytes.append(b)
                }
            }
        }
        bytes.append(UInt8(ascii: "\n"))
    }
}

/// `bytea` in hex input form, `\x0a1b…`.
func hexBytea(_ data: [UInt8]) -> String {
    let hex = Array("0123456789abcdef".utf8)
    var out = Array(#"\x"#.utf8)
    out.reserveCapacity(2 + data.count * 2)
    for b in data { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xf)]) }
    return String(decoding: out, as: UTF8.self)
}

func bytes(fromHex s: String) -> [UInt8] {
    func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
    let u = Array(s.utf8)
    return stride(from: 0, to: u.count - 1, by: 2).map { v(u[$0]) << 4 | v(u[$0 + 1]) }
}

/// A timestamptz literal in UTC with microseconds, e.g. `2026-11-25 12:00:00.123456+00`.
func timestamp(_ date: Date) -> String {
    let t = date.timeIntervalSince1970
    var secs = time_t(t.rounded(.down))
    let micros = Int(((t - Double(secs)) * 1_000_000).rounded())
    var tm = tm()
    gmtime_r(&secs, &tm)
    func pad(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
    let us = String(min(micros, 999_999))
    return "\(tm.tm_year + 1900)-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2)) \(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(String(repeating: "0", count: 6 - us.count) + us)+00"
}
