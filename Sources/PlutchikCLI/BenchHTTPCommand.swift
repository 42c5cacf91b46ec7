import ArgumentParser
import Contracts
import Foundation
import Gateway
import Logging
import Pipeline
import ServiceLifecycle

/// `plutchik bench http`: `POST /v1/analyze` with one turn per request, at several concurrencies,
/// against a gateway started in this process on loopback with the real model.
struct BenchHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Requests/s and p50/p99 latency of single-turn POST /v1/analyze at each concurrency (keep-alive connections on loopback).")

    @Option(parsing: .upToNextOption, help: "Concurrent clients, one run each.") var concurrency: [Int] = [1, 8, 64]
    @Option(help: "Seconds per concurrency (after 1 s of warm-up).") var seconds: Double = 10
    @Option(help: "JSONL corpus with a \"text\" field, cycled through (default: the chat corpus of Deploy/fetch-corpus.sh, else the demo dialogues).")
    var corpus: String?
    @Option(help: "Use only the corpus's first N texts (0: all). A few hundred fit the embedding cache, so the requests measure the server and the heads, not the encoder.")
    var distinctTexts: Int = 0
    @Flag(help: "One JSON object per line: {\"concurrency\",\"requests_per_s\",\"p50_ms\",\"p99_ms\"} and the rest.") var json = false
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var inference: InferenceOptions

    func validate() throws {
        guard concurrency.allSatisfy({ $0 > 0 }), seconds > 0 else { throw ValidationError("--concurrency and --seconds must be positive") }
    }

    func run() async throws {
        var logger = Logger(label: "plutchik.bench")
        logger.logLevel = .error
        var texts = try loadTexts()
        if distinctTexts > 0 { texts = Array(texts.prefix(distinctTexts)) }
        let encoder = inference.configuration(batchSize: 64)
        let analyzer = try makeAnalyzer(heads: heads, pipeline: pipeline, encoder: encoder)
        let key = UUID().uuidString
        var keys = APIKeys()
        try keys.add(tenant: "bench", key: key)
        var options = gatewayOptions
        options.httpHost = "127.0.0.1"
        options.httpMaxInFlight = max(options.httpMaxInFlight, concurrency.max()!)
        // The benchmark measures the server, not the per-tenant budget.
        options.httpTurnsPerSecond = .infinity
        options.httpMaxQueuedTurns = max(options.httpMaxQueuedTurns, 64 * concurrency.max()!)
        let gateway = try options.gateway(port: 0, analyzer: analyzer, keys: keys, logger: logger)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(services: [gateway.service(onListening: { portSink.yield($0) })], logger: logger)
        let server = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw ValidationError("the gateway did not start") }

        let bodies = texts.enumerated().map { i, text in
            var w = JSONWriter()
            w.beginObject()
            w.key("dialogue_id"); w.string("bench-\(i)")
            w.key("role"); w.string("customer")
            w.key("speaker"); w.string("customer")
            w.key("text"); w.string(text)
            w.key("turn_id"); w.number(1)
            w.endObject()
            return w.bytes
        }
        for c in concurrency {
            let r = try measure(port: port, key: key, bodies: bodies, clients: c)
            printFields([
                ("concurrency", "\(c)"), ("requests_per_s", String(format: "%.1f", r.rate)),
                ("p50_ms", String(format: "%.2f", r.p50 * 1000)), ("p99_ms", String(format: "%.2f", r.p99 * 1000)),
                ("requests", "\(r.count)"), ("errors", "\(r.errors)"), ("distinct_texts", "\(texts.count)"),
                ("cache_hit_rate", String(format: "%.3f", analyzer.cacheHitRate)), ("threads", "\(encoder.threads)"),
                ("precision", "\"\(encoder.precision.resolved.rawValue)\""),
            ], json: json)
            if !json { print("") }
        }
        await group.triggerGracefulShutdown()
        try await server.value
    }

    /// `clients` threads, each with its own keep-alive connection, sending requests back to back:
    /// 1 s of warm-up, then `seconds` measured.
    private func measure(port: Int, key: String, bodies: [[UInt8]], clients: Int) throws -> (rate: Double, p50: Double, p99: Double, count: Int, errors: Int) {
        let warmUp = DispatchTime.now().uptimeNanoseconds + 1_000_000_000
        let end = warmUp + UInt64(seconds * 1e9)
        let results = LockedResults()
        let done = DispatchGroup()
        for client in 0..<clients {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                var latencies: [Double] = [], errors = 0, i = client
                do {
                    let connection = try LoopbackHTTPConnection(port: port)
                    while true {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        if t0 >= end { break }
                        let status = try connection.post("/v1/analyze", key: key, body: bodies[i % bodies.count])
                        let t1 = DispatchTime.now().uptimeNanoseconds
                        if t0 >= warmUp {
                            if status == 200 { latencies.append(Double(t1 - t0) / 1e9) } else { errors += 1 }
                        }
                        i += clients
                    }
                } catch {
                    errors += 1
                }
                results.add(latencies, errors: errors)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        done.wait()
        let (latencies, errors) = results.all()
        let sorted = latencies.sorted()
        return (Double(sorted.count) / seconds, percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.count, errors)
    }

    private func loadTexts() throws -> [String] {
        let chat = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/chitchat-8000.jsonl").path
        let path = corpus ?? (FileManager.default.fileExists(atPath: chat) ? chat
            : locateInRepository("Deploy/demo", containing: "dialogues.jsonl")?.appendingPathComponent("dialogues.jsonl").path)
        guard let path else { throw ValidationError("no corpus: pass --corpus FILE.jsonl") }
        var reader = try LineReader(path: path)
        var texts: [String] = []
        while let line = reader.next() {
            if let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let t = o["text"] as? String, !t.isEmpty {
                texts.append(String(t.prefix(Turn.maxTextLength)))
            }
        }
        guard !texts.isEmpty else { throw ValidationError("\(path) has no \"text\" fields") }
        return texts
    }
}

/// The benchmark's per-thread results, gathered under a lock.
private final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var errors = 0
    func add(_ l: [Double], errors e: Int) { lock.withLock { latencies += l; errors += e } }
    func all() -> ([Double], Int) { lock.withLock { (latencies, errors) } }
}
