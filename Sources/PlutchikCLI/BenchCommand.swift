import ArgumentParser
import Encoder
import Foundation

/// `plutchik bench`: throughput benchmarks (not timed tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks.",
        subcommands: [BenchEncoderCommand.self, BenchForecasterCommand.self, BenchPipelineCommand.self, BenchHTTPCommand.self, BenchRedactCommand.self]
    )
}

/// `plutchik bench encoder`: sentence-encoder throughput over a JSONL corpus in file order.
struct BenchEncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Encode a JSONL corpus's \"text\" fields in file order, in batches, and report throughput.",
        discussion: """
            Texts are tokenised before timing; the timed part is the encoder (packed forward pass, pooling), \
            with no cache. Latencies are per batch. With --json, prints one object: \
            {"msgs_per_s","tokens_per_s","p50_ms","p99_ms","gflops","threads","precision","batch"}.
            """
    )

    @Option(help: "JSONL corpus with a \"text\" field (see Deploy/fetch-corpus.sh).")
    var corpus: String = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/chitchat-8000.jsonl").path

    @Option(help: "Messages per batch.")
    var batch: Int = 32

    @Option(help: "Use at most this many messages.")
    var limit: Int = 8000

    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    @Option(parsing: .upToNextOption, help: "Also mean-pool these encoder layers' hidden states (encode(_:layers:)), as heads with layer features need.")
    var layers: [Int] = []

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard batch >= 1, limit >= 1 else { throw ValidationError("--batch and --limit must be at least 1") }
    }

    func run() throws {
        let (tokenizer, encoder) = try model.load(batchSize: batch)
        var reader = try LineReader(path: corpus)
        defer { reader.close() }
        var ids: [[Int32]] = []
        var lineNumber = 0
        while ids.count < limit, let line = reader.next() {
            lineNumber += 1
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let text = o["text"] as? String else {
                throw ValidationError("\(corpus):\(lineNumber): not a JSON object with a string \"text\"")
            }
            ids.append(tokenizer.encode(text))
        }
        guard !ids.isEmpty else { throw ValidationError("\(corpus) has no messages") }

        var out = [Float](repeating: 0, count: batch * encoder.dimension)
        try encoder.encode(Array(ids.prefix(batch)), into: &out)   // warm-up: page in weights, size scratch

        var latencies: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        var lastReport = start
        var i = 0
        while i < ids.count {
            let b = Array(ids[i..<min(ids.count, i + batch)])
            let t0 = DispatchTime.now().uptimeNanoseconds
            if layers.isEmpty {
                try encoder.encode(b, into: &out)
            } else {
                _ = try encoder.encode(b, layers: layers)
            }
            let t1 = DispatchTime.now().uptimeNanoseconds
            latencies.append(Double(t1 - t0) / 1e6)
            i += b.count
            if t1 - lastReport > 1_000_000_000 {
                lastReport = t1
                let rate = Double(i) / (Double(t1 - start) / 1e9)
                FileHandle.standardError.write(Data("\rbench encoder: \(i)/\(ids.count) msgs, \(Int(rate)) msgs/s ".utf8))
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        FileHandle.standardError.write(Data("\rbench encoder: \(ids.count)/\(ids.count) msgs in \(String(format: "%.2f", seconds)) s\n".utf8))

        latencies.sort()
        let tokens = ids.reduce(0) { $0 + $1.count }
        let flops = MiniLMEncoder.flops(sequenceLengths: ids.map(\.count))
        let fields: [(String, String)] = [
            ("msgs_per_s", String(format: "%.1f", Double(ids.count) / seconds)),
            ("tokens_per_s", String(format: "%.1f", Double(tokens) / seconds)),
            ("p50_ms", String(format: "%.3f", percentile(latencies, 0.50))),
            ("p99_ms", String(format: "%.3f", percentile(latencies, 0.99))),
            ("gflops", String(format: "%.2f", flops / seconds / 1e9)),
            ("threads", "\(encoder.configuration.threads)"),
            ("precision", "\"\(encoder.precision.rawValue)\""),
            ("batch", "\(batch)"),
        ]
        printFields(fields, json: json)
    }
}

/// Prints a benchmark's figures: one JSON object (values already JSON literals) or `key: value` lines.
func printFields(_ fields: [(String, String)], json: Bool) {
    if json {
        print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    } else {
        for (k, v) in fields { print("\(k): \(v)") }
    }
}

/// Encodes `ids` in order in batches of `batch`, after one warm-up batch (pages in the weights,
/// sizes the scratch), and returns the seconds the timed pass took.
func timeEncoderPass(_ encoder: MiniLMEncoder, _ ids: [[Int32]], batch: Int = 32) throws -> Double {
    var out = [Float](repeating: 0, count: batch * encoder.dimension)
    try encoder.encode(Array(ids.prefix(batch)), into: &out)
    let start = DispatchTime.now().uptimeNanoseconds
    for i in stride(from: 0, to: ids.count, by: batch) { try encoder.encode(Array(ids[i..<min(ids.count, i + batch)]), into: &out) }
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The nearest-rank percentile `p` (0...1) of ascending `sorted` values; 0 when there are none.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
}
