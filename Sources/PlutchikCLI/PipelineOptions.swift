import ArgumentParser
import AuditStore
import Foundation
import Kafka
import Pipeline

/// Connection and pipeline settings shared by `run`, `migrate` and `demo`.
/// Flags win over the environment; the environment over defaults.
struct PipelineOptions: ParsableArguments {
    @Option(help: "A config file of KEY=VALUE lines with the environment's names (KAFKA_BROKERS, DATABASE_URL, PLUTCHIK_*). Env: PLUTCHIK_CONFIG.")
    var config: String?

    @Option(help: "Kafka bootstrap servers. Env: KAFKA_BROKERS.")
    var brokers: String?

    @Option(help: "PostgreSQL URL for audits (TLS via its sslmode). Env: DATABASE_URL.")
    var databaseURL: String?

    @Option(help: "Consumer group id. Env: PLUTCHIK_GROUP_ID.")
    var groupID: String?

    @Option(name: .customLong("kafka"), help: "A librdkafka property as KEY=VALUE, for SASL/SSL and tuning. Repeatable. Env: PLUTCHIK_KAFKA_<KEY with . as _>.")
    var kafkaProperties: [String] = []

    @Option(help: "Input topic.") var inputTopic = "plutchik.turns"
    @Option(help: "Enriched events topic.") var eventsTopic = "plutchik.emotions"
    @Option(help: "Escalation alerts topic.") var escalationsTopic = "plutchik.escalations"
    @Option(help: "Dead-letter topic.") var dlqTopic = "plutchik.dlq"
    @Option(help: "Most turns per micro-batch.") var batchSize = 32
    @Option(help: "Longest wait to fill a micro-batch, in milliseconds.") var batchWaitMs = 10
    @Option(help: "Most live dialogues kept in memory (an evicted one that returns is reloaded from PostgreSQL).") var maxDialogues = 100_000
    @Option(help: "Longest accepted text, in characters.") var maxTextLength = 5000
    @Option(help: "Delete the stored state of dialogues not written for this many hours (0 keeps it forever).")
    var stateRetentionHours: Double = 168
    @Option(help: "Keep this many months of audits (emotion_audit's monthly partitions by turn time; older ones are dropped hourly); 0 keeps them all.")
    var auditRetentionMonths = 0
    @Option(help: "Longest wait for PostgreSQL to answer a write or read, in seconds; past it the connection is dropped and the call retried (0 waits for ever).")
    var databaseTimeoutSeconds: Double = 60
    @Flag(help: "Store a SHA-256 of each text instead of the text. Env: PLUTCHIK_HASH_TEXTS=1.") var hashTexts = false
    @Flag(help: "Dead letters keep the record's original bytes instead of its redacted text (sensitive data then reaches the dead-letter topic). Env: PLUTCHIK_DLQ_KEEP_ORIGINAL=1.")
    var dlqKeepOriginal = false
    @Flag(help: "Apply the SQL migrations at start-up.") var migrate = false
    @Flag(help: "Add an explanation (the words behind the emotion, the turns that moved the risk) to every event, not only to alerts and their events. Env: PLUTCHIK_EXPLAIN=1.")
    var explain = false
    /// `--explain`, or PLUTCHIK_EXPLAIN=1.
    var explainAllTurns: Bool { explain || env["PLUTCHIK_EXPLAIN"] == "1" }
    @Option(help: "Directory of the SQL migrations. Env: PLUTCHIK_MIGRATIONS_DIR; default: <repo>/Schemas/postgres.")
    var migrationsDir: String?
    @Option(help: "Directory of the escalation forecaster. Env: PLUTCHIK_ESCALATION_DIR; default: <repo>/Models/escalation.")
    var escalationDir: String?

    private var env: [String: String] { Settings.environment }

    func validate() throws {
        try Settings.load(flag: config)
    }

    func bootstrapServers() throws -> String {
        guard let b = brokers ?? env["KAFKA_BROKERS"], !b.isEmpty else {
            throw ValidationError("no Kafka brokers: pass --brokers or set KAFKA_BROKERS")
        }
        return b
    }

    func database() throws -> String {
        guard let url = databaseURL ?? env["DATABASE_URL"], !url.isEmpty else {
            throw ValidationError("no database: pass --database-url or set DATABASE_URL")
        }
        return url
    }

    /// librdkafka properties from `--kafka KEY=VALUE` and `PLUTCHIK_KAFKA_*`.
    func rdKafkaProperties() throws -> [String: String] {
        var p: [String: String] = [:]
        for (k, v) in env where k.hasPrefix("PLUTCHIK_KAFKA_") {
            p[k.dropFirst("PLUTCHIK_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")] = v
        }
        for kv in kafkaProperties {
            guard let eq = kv.firstIndex(of: "="), eq != kv.startIndex else {
                throw ValidationError("--kafka takes KEY=VALUE, got '\(kv)'")
            }
            p[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        return p
    }

    func pipelineConfiguration() throws -> PipelineConfiguration {
        guard (1...1024).contains(batchSize) else { throw ValidationError("--batch-size must be 1...1024, got \(batchSize)") }
        var c = PipelineConfiguration()
        c.inputTopic = inputTopic
        c.eventsTopic = eventsTopic
        c.escalationsTopic = escalationsTopic
        c.deadLetterTopic = dlqTopic
        c.maxBatchSize = batchSize
        c.maxBatchWait = .milliseconds(batchWaitMs)
        c.maxLiveDialogues = maxDialogues
        c.deadLetterKeepsOriginal = dlqKeepOriginal || env["PLUTCHIK_DLQ_KEEP_ORIGINAL"] == "1"
        c.validator.maxTextLength = maxTextLength
        guard stateRetentionHours >= 0 else { throw ValidationError("--state-retention-hours must be 0 or more, got \(stateRetentionHours)") }
        c.stateRetention = stateRetentionHours > 0 ? stateRetentionHours * 3600 : nil
        guard auditRetentionMonths >= 0 else { throw ValidationError("--audit-retention-months must be 0 or more, got \(auditRetentionMonths)") }
        c.auditRetentionMonths = auditRetentionMonths
        return c
    }

    var storesHashedTexts: Bool { hashTexts || env["PLUTCHIK_HASH_TEXTS"] == "1" }

    /// The audit writer's settings for `url`.
    func writerConfiguration(url: String) throws -> AuditWriter.Configuration {
        guard databaseTimeoutSeconds >= 0 else {
            throw ValidationError("--database-timeout-seconds must be 0 or more, got \(databaseTimeoutSeconds)")
        }
        let secret = env["PLUTCHIK_TEXT_HASH_SECRET"].map { Array($0.utf8) }
        if let secret, secret.count < 16 {
            throw ValidationError("PLUTCHIK_TEXT_HASH_SECRET must be at least 16 bytes (the key of emotion_audit.text_sha256), got \(secret.count)")
        }
        return .init(url: url, hashTexts: storesHashedTexts, textHashKey: secret,
                     operationTimeout: databaseTimeoutSeconds > 0 ? .milliseconds(Int64(databaseTimeoutSeconds * 1000)) : nil)
    }

    func migrationsDirectory() throws -> URL {
        if let d = migrationsDir ?? env["PLUTCHIK_MIGRATIONS_DIR"] { return URL(fileURLWithPath: d) }
        guard let d = locateInRepository("Schemas/postgres", containing: "001_init.sql") else {
            throw ValidationError("no migrations found: pass --migrations-dir or set PLUTCHIK_MIGRATIONS_DIR")
        }
        return d
    }

    func escalationDirectory() throws -> URL {
        if let d = escalationDir ?? env["PLUTCHIK_ESCALATION_DIR"] { return URL(fileURLWithPath: d) }
        guard let d = locateInRepository("Models/escalation", containing: "manifest.json") else {
            throw ValidationError("no escalation model found: pass --escalation-dir or set PLUTCHIK_ESCALATION_DIR")
        }
        return d
    }
}

/// Finds `relative` (holding `marker`) walking up from the current directory, then from the
/// executable's directory, so a build run anywhere inside the repository finds its files.
func locateInRepository(_ relative: String, containing marker: String) -> URL? {
    let starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                  URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()]
    for start in starts {
        var dir = start.standardizedFileURL
        while true {
            let candidate = dir.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(marker).path) { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return nil }
            dir = parent
        }
    }
    return nil
}
