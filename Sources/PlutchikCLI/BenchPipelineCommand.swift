import ArgumentParser
import AuditStore
import Encoder
import Foundation
import Kafka
import Logging
import Pipeline
import ServiceLifecycle
import Tokenizer

/// `plutchik bench pipeline`: the whole path — embedded broker, processor, PostgreSQL.
struct BenchPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run the corpus through an embedded broker, the processor and PostgreSQL, and report throughput.",
        discussion: """
            Produces the corpus to the input topic (as a backlog, or at --rate turns/s while processing), runs \
            the processor until every turn is done, and measures each turn from consume to delivery \
            acknowledgement. Also measures the encoder alone on the same texts (batch 32, file order) with the \
            same embedding cache as the processor (2,000 texts, or none with --no-cache), so the ratio of \
            the two is not flattered by cache hits. Needs DATABASE_URL (Deploy/bench-pipeline.sh starts a \
            throw-away PostgreSQL). With --json prints {"turns_per_s","p50_ms","p99_ms","rss_mb", \
            "encoder_only_msgs_per_s","cache","cache_hit_rate","threads","precision"}.
            """)

    @Option(help: "JSONL turns (dialogue_id, turn_id, speaker, ts, text); see Deploy/fetch-corpus.sh.")
    var corpus: String = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/chitchat-8000.jsonl").path
    @Option(help: "Use at most this many turns.") var limit = 8000
    @Option(help: "Produce at this many turns/s while processing (0: produce a backlog first).") var rate: Double = 0
    @Flag(help: "Skip the encoder-only measurement.") var skipEncoder = false
    @Flag(help: "No embedding cache, in the processor and in the encoder-only measurement (every turn encoded).") var noCache = false
    @Flag(help: "Print one JSON object on stdout.") var json = false
    /// Encoder threads and precision, in the processor and in the encoder-only measurement.
    @OptionGroup var inference: InferenceOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        var logger = try logging.makeLogger(label: "plutchik.bench")
        if logging.logLevel == nil { logger.logLevel = .warning }
        var lines: [String] = []
        var reader = try LineReader(path: corpus)
        while lines.count < limit, let line = reader.next() { if !line.isEmpty { lines.append(line) } }
        reader.close()
        guard !lines.isEmpty else { throw ValidationError("\(corpus) has no turns") }

        let cacheCapacity = noCache ? 0 : 2_000
        let encoderOnly = skipEncoder ? nil : try encoderThroughput(lines, cacheCapacity: cacheCapacity)

        let broker = try EmbeddedBroker(for: try pipeline.pipelineConfiguration(), logger: logger)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: broker.bootstrapServers), logger: logger)
        let messages = lines.map { line in
            let key = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["dialogue_id"].map { "\($0)" }
            return KafkaProducerMessage(topic: pipeline.inputTopic, key: key.map { Array($0.utf8) }, value: Array(line.utf8))
        }
        if rate == 0 { _ = try await producer.sendAll(messages) }

        // A fresh database schema per run, so every turn is new.
        let writer = try AuditWriter(configuration: .init(url: try pipeline.database()))
        _ = try await writer.migrate(directory: try pipeline.migrationsDirectory())
        _ = try await writer.query("TRUNCATE emotion_audit, escalation_event, dialogue_state")

        var options = pipeline
        options.migrate = false
        let processor = try await makeProcessor(
            pipeline: options, heads: heads, inference: inference, bootstrap: broker.bootstrapServers,
            databaseURL: try pipeline.database(), groupID: "plutchik-bench-\(UInt32.random(in: 0...UInt32.max))",
            logger: logger, recordLatencies: true, cacheCapacity: cacheCapacity)
        let group = ServiceGroup(configuration: .init(services: [.init(service: processor)], logger: logger))
        let running = Task { try await group.run() }
        let feeder = Task {
            guard rate > 0 else { return }
            // Measure the steady state: start feeding once the processor holds its partitions.
            while await processor.readiness().assignedPartitions == 0 { try await Task.sleep(for: .milliseconds(20)) }
            // Whatever is due goes out as one batch, in order: awaiting each delivery report in turn
            // would cap the rate near 1/linger.ms.
            let start = ContinuousClock.now
            var sent = 0
            while sent < messages.count {
                let due = min(messages.count, Int((ContinuousClock.now - start) / .seconds(1) * rate) + 1)
                if due > sent {
                    _ = try await producer.sendAll(Array(messages[sent..<due]))
                    sent = due
                } else {
                    try await Task.sleep(until: start + .seconds(Double(sent) / rate))
                }
            }
        }

        // Time from the first processed turn to the last, so group joining is not counted.
        var first: ContinuousClock.Instant?
        var lastProgress = ContinuousClock.now
        while true {
            try await Task.sleep(for: .milliseconds(50))
            let done = await processor.stats.turns
            if first == nil && done > 0 { first = .now }
            if ContinuousClock.now - lastProgress > .seconds(1) {
                lastProgress = .now
                FileHandle.standardError.write(Data("\rbench pipeline: \(done)/\(lines.count) turns ".utf8))
            }
            if done >= lines.count { break }
        }
        let elapsed = (ContinuousClock.now - first!) / .seconds(1)
        try await feeder.value
        await group.triggerGracefulShutdown()
        try await running.value
        try await producer.close()
        let stats = await processor.stats
        FileHandle.standardError.write(Data("\rbench pipeline: \(stats.turns)/\(lines.count) turns in \(String(format: "%.2f", elapsed)) s (\(stats.deadLettered) dead-lettered)\n".utf8))

        let latencies = stats.latencies.sorted()
        var fields: [(String, String)] = [
            ("turns_per_s", String(format: "%.1f", Double(stats.turns) / elapsed)),
            ("p50_ms", String(format: "%.1f", percentile(latencies, 0.5) * 1000)),
            ("p99_ms", String(format: "%.1f", percentile(latencies, 0.99) * 1000)),
            ("rss_mb", String(format: "%.1f", peakRSSMegabytes())),
            ("encoder_only_msgs_per_s", encoderOnly.map { String(format: "%.1f", $0) } ?? "null"),
            ("cache", String(cacheCapacity)),
            ("cache_hit_rate", String(format: "%.4f", processor.analyzer.cacheHitRate)),
        ]
        if rate > 0 { fields.append(("rate", String(format: "%.1f", rate))) }
        let encoder = inference.configuration(batchSize: 32)
        fields.append(("threads", String(encoder.threads)))
        fields.append(("precision", "\"\(encoder.precision.resolved)\""))
        printFields(fields, json: json)
    }

    /// The encoder alone over the same texts, 32 in file order at a time, through an embedding
    /// cache of `cacheCapacity` texts like the processor's (0: every text encoded): texts per second.
    private func encoderThroughput(_ lines: [String], cacheCapacity: Int) throws -> Double {
        let texts = lines.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["text"] as? String ?? "" }
        let dir = heads.modelDirectory
        let tokenizer = try WordPieceTokenizer(vocabulary: dir.appendingPathComponent("vocab.txt"))
        let encoder = try MiniLMEncoder(modelFile: dir.appendingPathComponent("model.safetensors"), configuration: inference.configuration(batchSize: 32))
        _ = try encoder.encode(Array(texts.prefix(32)).map { tokenizer.encode($0) })  // warm-up
        var cache = EmbeddingCache(capacity: cacheCapacity)
        let start = ContinuousClock.now
        for i in stride(from: 0, to: texts.count, by: 32) {
            let batch = texts[i..<min(texts.count, i + 32)]
            let missing = batch.filter { cache.get($0) == nil }
            guard !missing.isEmpty else { continue }
            for (t, v) in zip(missing, try encoder.encode(missing.map { tokenizer.encode($0) })) { cache.put(t, v) }
        }
        return Double(texts.count) / ((ContinuousClock.now - start) / .seconds(1))
    }
}

/// Peak resident set size of this process (VmHWM), in MiB.
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}
