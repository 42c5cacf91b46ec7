import ArgumentParser
import AuditStore
import Foundation
import Gateway
import Kafka
import Logging
import Pipeline
import ServiceLifecycle

/// `plutchik demo`: the whole product on an embedded broker with bundled dialogues.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Replay the bundled contact-centre dialogues through an embedded broker and the processor.",
        discussion: "Needs DATABASE_URL (Deploy/demo.sh starts a throw-away PostgreSQL when none is given).")

    @Option(help: "Turns per second to replay (0: as fast as possible).") var rate: Double = 50
    @Option(help: "Also write every published event, as JSONL, to this file.") var eventsOut: String?
    @Option(help: "Also write every escalation alert, as JSONL, to this file.") var alertsOut: String?
    @Option(help: "The dialogues to replay (JSONL turns). Default: <repo>/Deploy/demo/dialogues.jsonl.") var dialogues: String?
    @Option(help: "Port for the HTTP API and the live web view during the demo (0: off).") var httpPort: Int = 0
    @Flag(help: "With --http-port: keep the web view and the API up after the replay, until SIGTERM or SIGINT.")
    var keepServing = false
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var inference: InferenceOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        Allocator.configure()
        var logger = try logging.makeLogger(label: "plutchik.demo")
        if logging.logLevel == nil && Settings.environment["PLUTCHIK_LOG_LEVEL"] == nil { logger.logLevel = .error }
        guard let file = dialogues.map({ URL(fileURLWithPath: $0) })
                ?? locateInRepository("Deploy/demo", containing: "dialogues.jsonl")?.appendingPathComponent("dialogues.jsonl") else {
            throw ValidationError("no demo dialogues found: pass --dialogues")
        }
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
        let config = try pipeline.pipelineConfiguration()

        let broker = try EmbeddedBroker(for: config, logger: logger)
        // The broker outlives every client: a closed client keeps its librdkafka handle, and with it
        // its broker connections, until it is released, and a broker gone first logs "Connection refused".
        defer { withExtendedLifetime(broker) {} }
        var migrated = pipeline
        migrated.migrate = true
        let live = gatewayOptions.liveDialogues(enabled: httpPort > 0)
        let processor = try await makeProcessor(
            pipeline: migrated, heads: heads, inference: inference, bootstrap: broker.bootstrapServers,
            databaseURL: try pipeline.database(), groupID: "plutchik-demo", logger: logger,
            onAudited: live?.recorder)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: processor)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let running = Task { try await group.run() }
        // The summary and --events-out/--alerts-out read the audit store whole: say so when it
        // already holds another run's turns.
        let before = try await AuditWriter(configuration: .init(url: try pipeline.database()))
            .query("SELECT count(*) FROM emotion_audit").first?[0].flatMap { Int($0) } ?? 0
        if before > 0 {
            FileHandle.standardError.write(Data(("warning: the database already holds \(before) audited turns; the summary and the "
                + "--events-out/--alerts-out files include them, and turns at offsets audited before may be replayed rather than analysed "
                + "again. Use an empty database (Deploy/demo.sh starts one) to see this run alone.\n").utf8))
        }
        // The web view has a group of its own: it may outlive the replay (--keep-serving).
        var web: (group: ServiceGroup, task: Task<Void, any Error>)?
        if let live {
            var keys = try GatewayOptions.keys()
            if keys.isEmpty {
                // A demo without configured keys gets one for every tenant, shown once on stderr (never logged).
                var random = SystemRandomNumberGenerator()
                let key = (0..<4).map { _ in String(format: "%016llx", random.next() as UInt64) }.joined()
                try keys.add(tenant: APIKeys.allTenants, key: key)
                FileHandle.standardError.write(Data("web view: http://127.0.0.1:\(httpPort)/login, sign in with the key \(key) (a key for every tenant, made for this demo; set PLUTCHIK_API_KEYS to choose your own)\n".utf8))
            }
            let gateway = try gatewayOptions.gateway(port: httpPort, analyzer: processor.analyzer, keys: keys, live: live, sharedWithStream: true,
                                                     policies: processor.tenantPolicies, logger: logger)
            let webGroup = ServiceGroup(configuration: .init(
                services: [.init(service: gateway.service())], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            web = (webGroup, Task { try await webGroup.run() })
        }

        // Replay: each dialogue's turns at its own pace, interleaved, at `rate` turns per second overall.
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: broker.bootstrapServers), logger: logger)
        let start = Date()
        let replay = Task {
            let base = Date().timeIntervalSince1970 * 1000
            for (i, line) in lines.enumerated() {
                var object = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
                let key = object["dialogue_id"] as? String
                if let offset = object.removeValue(forKey: "ts_offset_s") as? Double { object["ts"] = Int64(base + offset * 1000) }
                let value = (try? JSONSerialization.data(withJSONObject: object)) ?? Data(line.utf8)
                _ = try await producer.send(KafkaProducerMessage(topic: config.inputTopic, key: key.map { Array($0.utf8) }, value: Array(value)))
                if rate > 0 { try await Task.sleep(for: .seconds(Double(i + 1) / rate - Date().timeIntervalSince(start))) }
            }
        }

        // Progress line until every turn is processed.
        var last = 0
        while true {
            try await Task.sleep(for: .milliseconds(500))
            let s = await processor.stats
            let elapsed = Date().timeIntervalSince(start)
            let lag = lines.count - s.turns
            FileHandle.standardError.write(Data(String(
                format: "\r  %4d/%d turns  %6.1f turns/s  lag %4d  escalations %3d  dlq %d   ",
                s.turns, lines.count, Double(s.turns) / max(elapsed, 0.001), lag, s.alerts, s.deadLettered).utf8))
            if s.turns >= lines.count || (s.turns == last && elapsed > 120) { break }
            last = s.turns
        }
        FileHandle.standardError.write(Data("\n".utf8))
        try await replay.value
        try await producer.close()
        await group.triggerGracefulShutdown()
        try await running.value

        // Summary from the audit store.
        let writer = try AuditWriter(configuration: .init(url: try pipeline.database()))
        let mix = try await writer.query("""
            SELECT emotion, count(*) FROM emotion_audit WHERE model_version IS NOT NULL
            GROUP BY emotion ORDER BY count(*) DESC, emotion LIMIT 12
            """)
        let totals = try await writer.query("SELECT (SELECT count(*) FROM emotion_audit), (SELECT count(*) FROM escalation_event), (SELECT count(DISTINCT dialogue_id) FROM escalation_event)")
        print("\nEmotion mix (top 12)")
        print("  emotion           turns")
        for row in mix { print("  " + (row[0] ?? "").padding(toLength: 16, withPad: " ", startingAt: 0) + (row[1] ?? "").leftPadded(7)) }
        // The audit store keeps each event and alert as published.
        for (file, sql) in [(eventsOut, "SELECT event::text FROM emotion_audit ORDER BY source_partition, source_offset"),
                            (alertsOut, "SELECT alert::text FROM escalation_event ORDER BY id")] {
            guard let file else { continue }
            let rows = try await writer.query(sql).compactMap { $0[0] }
            try rows.map { $0 + "\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
        }
        let s = await processor.stats
        print("\nSummary")
        print("  turns processed      \(String(s.turns).leftPadded(6))")
        print("  events published     \(String(s.events).leftPadded(6))")
        print("  escalations raised   \(String(s.alerts).leftPadded(6))  (\(totals[0][2] ?? "0") dialogues)")
        print("  dead-lettered        \(String(s.deadLettered).leftPadded(6))")
        print("  audits in database   \((totals[0][0] ?? "0").leftPadded(6))")
        print("  throughput           \(String(format: "%.1f", Double(s.turns) / Date().timeIntervalSince(start))) turns/s at --rate \(rate)")
        if let web {
            if keepServing {
                FileHandle.standardError.write(Data("\nThe web view and the API stay up on port \(httpPort); SIGTERM or Ctrl-C stops them.\n".utf8))
            } else {
                await web.group.triggerGracefulShutdown()
            }
            try await web.task.value
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
