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
            "encoder_only_msgs_per_s","cache","cache_hit_rate","alerts","threads","precision"}.

            Scale: --cached replaces the corpus's texts with a few canned ones, so the embedding cache answers \
            for the encoder and the plumbing alone is measured; --dialogues N runs N single-turn dialogues of \
            canned texts instead of the corpus and adds "windows" (turns/s while the live dialogues were in \
            each tenth of N), "flat_ratio" (turns/s at 80-100 % of N over 12-32 %), "rss_bytes_per_dialogue" \
            and "live_dialogues". In both, the encoder-only figure is the corpus's first texts uncached, and \
            "plumbing_ratio" is turns/s over it. Raise --max-dialogues to N.

            Memory: the broker is embedded in this process unless --broker-process runs it as a child \
            `plutchik broker`, or --brokers (or KAFKA_BROKERS) names a running one with the four topics and \
            nothing in them; the embedded one keeps up to about 5 MiB per partition in this process's RSS, \
            so use one of the others to measure the processor's memory alone.
            """)

    @Option(help: "JSONL turns (dialogue_id, turn_id, speaker, ts, text); see Deploy/fetch-corpus.sh.")
    var corpus: String = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/chitchat-8000.jsonl").path
    @Option(help: "Use at most this many turns.") var limit = 8000
    @Option(help: "Produce at this many turns/s while processing (0: produce a backlog first).") var rate: Double = 0
    @Flag(help: "Skip the encoder-only measurement.") var skipEncoder = false
    @Flag(help: "No embedding cache, in the processor and in the encoder-only measurement (every turn encoded).") var noCache = false
    @Flag(help: "Print one JSON object on stdout.") var json = false
    @Flag(help: "Run the broker as a child process (`plutchik broker`), so \"rss_mb\" and \"rss_bytes_per_dialogue\" are the processor's alone.")
    var brokerProcess = false
    @Flag(help: "Replace the corpus's texts with a few canned ones (every text a cache hit): the plumbing alone.") var cached = false
    @Option(help: "Instead of the corpus, this many single-turn dialogues of canned texts: turns/s by live-dialogue window and RSS per live dialogue.")
    var dialogues: Int?
    /// Encoder threads and precision, in the processor and in the encoder-only measurement.
    @OptionGroup var inference: InferenceOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        Allocator.configure()
        var logger = try logging.makeLogger(label: "plutchik.bench")
        if logging.logLevel == nil { logger.logLevel = .warning }
        var lines: [String] = []
        var reader = try LineReader(path: corpus)
        while lines.count < (dialogues == nil ? limit : min(limit, 2_000)), let line = reader.next() { if !line.isEmpty { lines.append(line) } }
        reader.close()
        guard !lines.isEmpty else { throw ValidationError("\(corpus) has no turns") }

        let cacheCapacity = noCache ? 0 : 2_000
        let scale = cached || dialogues != nil
        // At scale the encoder-only figure is the corpus's real texts, uncached: what the plumbing is compared with.
        let encoderOnly = skipEncoder ? nil : try encoderThroughput(lines, cacheCapacity: scale ? 0 : cacheCapacity)
        if cached && dialogues == nil { lines = try lines.map(Self.withCannedText) }

        // The processor's memory is what is measured: with --broker-process or --brokers the broker (and
        // what it stores) is another process, and --dialogues turns are made as they are sent, not held.
        let total = dialogues ?? lines.count
        let inputTopic = pipeline.inputTopic
        let corpusMessages: [KafkaProducerMessage] = dialogues != nil ? [] : lines.map { line in
            let key = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["dialogue_id"].map { "\($0)" }
            return KafkaProducerMessage(topic: inputTopic, key: key.map { Array($0.utf8) }, value: Array(line.utf8))
        }
        lines = []
        let dialogueStart = Date().addingTimeInterval(-600)
        let messages: @Sendable (Range<Int>) -> [KafkaProducerMessage] = { range in
            guard let n = dialogues else { return Array(corpusMessages[range]) }
            return range.map { i in
                let (key, value) = Self.singleTurnDialogue(i, of: n, from: dialogueStart)
                return KafkaProducerMessage(topic: inputTopic, key: Array(key.utf8), value: Array(value.utf8))
            }
        }
        let child = brokerProcess ? try BrokerProcess(for: try pipeline.pipelineConfiguration()) : nil
        defer { child?.stop() }
        let external = child?.bootstrapServers ?? (try? pipeline.bootstrapServers())
        let embedded = external == nil ? try EmbeddedBroker(for: try pipeline.pipelineConfiguration(), logger: logger) : nil
        let bootstrap = external ?? embedded!.bootstrapServers
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: logger)
        // The embedded broker keeps about 5 MiB per partition: a large run is fed as it is consumed,
        // at most `backlog` turns ahead, so nothing is dropped unread.
        let backlog = dialogues == nil ? total : 20_000
        if rate == 0 { _ = try await producer.sendAll(messages(0..<min(total, backlog))) }

        // A fresh database schema per run, so every turn is new.
        let writer = try AuditWriter(configuration: .init(url: try pipeline.database()))
        _ = try await writer.migrate(directory: try pipeline.migrationsDirectory())
        _ = try await writer.query("TRUNCATE emotion_audit, escalation_event, dialogue_state")

        var options = pipeline
        options.migrate = false
        let processor = try await makeProcessor(
            pipeline: options, heads: heads, inference: inference, bootstrap: bootstrap,
            databaseURL: try pipeline.database(), groupID: "plutchik-bench-\(UInt32.random(in: 0...UInt32.max))",
            logger: logger, recordLatencies: true, cacheCapacity: cacheCapacity)
        let group = ServiceGroup(configuration: .init(services: [.init(service: processor)], logger: logger))
        let running = Task { try await group.run() }
        let feeder = Task {
            if rate == 0 {
                var sent = backlog
                while sent < total {
                    if await sent - processor.stats.turns < backlog / 2 {
                        let next = min(total, sent + backlog / 4)
                        _ = try await producer.sendAll(messages(sent..<next))
                        sent = next
                    } else {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                return
            }
            // Measure the steady state: start feeding once the processor holds its partitions.
            while await processor.readiness().assignedPartitions == 0 { try await Task.sleep(for: .milliseconds(20)) }
            // Whatever is due goes out as one batch, in order: awaiting each delivery report in turn
            // would cap the rate near 1/linger.ms.
            let start = ContinuousClock.now
            var sent = 0
            while sent < total {
                let due = min(total, Int((ContinuousClock.now - start) / .seconds(1) * rate) + 1)
                if due > sent {
                    _ = try await producer.sendAll(messages(sent..<due))
                    sent = due
                } else {
                    try await Task.sleep(until: start + .seconds(Double(sent) / rate))
                }
            }
        }

        // Time from the first processed turn to the last, so group joining is not counted.
        var first: ContinuousClock.Instant?
        var lastProgress = ContinuousClock.now
        var samples: [ScaleSample] = []
        while true {
            try await Task.sleep(for: .milliseconds(50))
            let done = await processor.stats.turns
            if first == nil && done > 0 { first = .now }
            if ContinuousClock.now - lastProgress > .seconds(1) {
                lastProgress = .now
                let live = await processor.readiness().liveDialogues
                if dialogues != nil && done > 0 { samples.append(ScaleSample(at: .now, turns: done, live: live, rssBytes: currentRSSBytes())) }
                FileHandle.standardError.write(Data("\rbench pipeline: \(done)/\(total) turns, \(live) live dialogues ".utf8))
            }
            if done >= total { break }
        }
        if dialogues != nil {
            samples.append(ScaleSample(at: .now, turns: await processor.stats.turns, live: await processor.readiness().liveDialogues, rssBytes: currentRSSBytes()))
        }
        let elapsed = (ContinuousClock.now - first!) / .seconds(1)
        try await feeder.value
        await group.triggerGracefulShutdown()
        try await running.value
        try await producer.close()
        withExtendedLifetime(embedded) {}
        let stats = await processor.stats
        FileHandle.standardError.write(Data("\rbench pipeline: \(stats.turns)/\(total) turns in \(String(format: "%.2f", elapsed)) s (\(stats.deadLettered) dead-lettered)\n".utf8))

        let latencies = stats.latencies.sorted()
        var fields: [(String, String)] = [
            ("turns_per_s", String(format: "%.1f", Double(stats.turns) / elapsed)),
            ("p50_ms", String(format: "%.1f", percentile(latencies, 0.5) * 1000)),
            ("p99_ms", String(format: "%.1f", percentile(latencies, 0.99) * 1000)),
            ("rss_mb", String(format: "%.1f", peakRSSMegabytes())),
            ("encoder_only_msgs_per_s", encoderOnly.map { String(format: "%.1f", $0) } ?? "null"),
            ("cache", String(cacheCapacity)),
            ("cache_hit_rate", String(format: "%.4f", processor.analyzer.cacheHitRate)),
            ("alerts", String(stats.alerts)),
        ]
        if rate > 0 { fields.append(("rate", String(format: "%.1f", rate))) }
        if scale, let encoderOnly { fields.append(("plumbing_ratio", String(format: "%.2f", Double(stats.turns) / elapsed / encoderOnly))) }
        if let dialogues { fields += Self.scaleFields(samples, dialogues: dialogues) }
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

extension BenchPipelineCommand {
    /// Short contact-centre texts: after the first batch, every one is an embedding-cache hit.
    static let cannedTexts = [
        "Hi, I need help with my order.", "Where is my parcel?", "Thanks, that works.",
        "This is the third time I'm asking!", "Can I change my delivery address?", "What's my order number?",
        "Great, thank you so much!", "I'm not happy with this service.",
    ]

    static let stampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// The `i`th of `n` dialogues of one turn each, as (key, JSON line): the `n` are stamped over
    /// 500 s from `start` (inside the idle window and the watermark's skew when `start` is ten
    /// minutes ago).
    static func singleTurnDialogue(_ i: Int, of n: Int, from start: Date) -> (key: String, line: String) {
        let ts = stampStyle.format(start.addingTimeInterval(Double(i) * 500 / Double(max(1, n))))
        let text = cannedTexts[i % cannedTexts.count]
        return ("bench-\(i)", #"{"dialogue_id":"bench-\#(i)","turn_id":0,"speaker":"customer","ts":"\#(ts)","text":"\#(text)"}"#)
    }

    /// A corpus line with its text replaced by a canned one (chosen by the text, so repeats stay repeats).
    static func withCannedText(_ line: String) throws -> String {
        guard var o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw ValidationError("not a JSON object: \(line.prefix(80))")
        }
        let text = o["text"] as? String ?? ""
        o["text"] = cannedTexts[Int(text.utf8.reduce(UInt32(0)) { $0 &* 31 &+ UInt32($1) } % UInt32(cannedTexts.count))]
        return String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
    }

    /// One progress sample of a `--dialogues` run.
    struct ScaleSample {
        var at: ContinuousClock.Instant
        var turns: Int
        var live: Int
        var rssBytes: Double
    }

    /// Turns/s between the first sample with at least `from` live dialogues and the last with at
    /// most `to` (nil when the run spent under two samples there).
    static func rate(_ samples: [ScaleSample], from: Int, to: Int) -> Double? {
        guard let a = samples.first(where: { $0.live >= from }), let b = samples.last(where: { $0.live <= to }),
              b.at > a.at, b.turns > a.turns else { return nil }
        return Double(b.turns - a.turns) / ((b.at - a.at) / .seconds(1))
    }

    /// The `--dialogues` figures: turns/s per tenth of `dialogues` live, the flat-cost ratio and
    /// RSS growth per live dialogue from 30 % live to the end.
    static func scaleFields(_ samples: [ScaleSample], dialogues n: Int) -> [(String, String)] {
        func number(_ x: Double?) -> String { x.map { String(format: "%.1f", $0) } ?? "null" }
        let windows = (0..<10).map { k in
            #"{"live_from":\#(k * n / 10),"live_to":\#((k + 1) * n / 10),"turns_per_s":\#(number(rate(samples, from: k * n / 10, to: (k + 1) * n / 10)))}"#
        }
        let flat = rate(samples, from: n * 8 / 10, to: n).flatMap { late in rate(samples, from: n * 12 / 100, to: n * 32 / 100).map { late / $0 } }
        var perDialogue: Double?
        // From 30 % live: by then the embedded broker's bounded logs of events have stopped growing.
        if let a = samples.first(where: { $0.live >= n * 3 / 10 }), let b = samples.last, b.live > a.live {
            perDialogue = (b.rssBytes - a.rssBytes) / Double(b.live - a.live)
        }
        return [
            ("live_dialogues", String(samples.last?.live ?? 0)),
            ("windows", "[" + windows.joined(separator: ",") + "]"),
            ("flat_ratio", flat.map { String(format: "%.3f", $0) } ?? "null"),
            ("rss_bytes_per_dialogue", number(perDialogue)),
        ]
    }
}

/// `plutchik broker` with the pipeline's topics, run by this executable as a child process.
struct BrokerProcess {
    let process = Process()
    let bootstrapServers: String

    init(for config: PipelineConfiguration) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("plutchik-bench-broker-\(getpid())").path
        try? FileManager.default.removeItem(atPath: file)
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = ["broker", "--bootstrap-file", file, "--log-level", "warning"]
            + EmbeddedBroker.topics(for: config).flatMap { ["--topic", $0.description] }
        process.standardOutput = FileHandle.nullDevice   // it prints the address; stdout is the JSON's
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? String(contentsOfFile: file, encoding: .utf8))?.isEmpty ?? true {
            guard process.isRunning, ContinuousClock.now < deadline else {
                if process.isRunning { process.terminate() }
                throw ValidationError("--broker-process: `plutchik broker` did not start within 30 s")
            }
            usleep(50_000)
        }
        bootstrapServers = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// Resident set size of this process now (VmRSS), in bytes.
func currentRSSBytes() -> Double { procStatusKilobytes("VmRSS:") * 1024 }

/// Peak resident set size of this process (VmHWM), in MiB.
func peakRSSMegabytes() -> Double { procStatusKilobytes("VmHWM:") / 1024 }

/// A kB figure of /proc/self/status (0 when unreadable).
private func procStatusKilobytes(_ key: String) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb
}
