import ArgumentParser
import Foundation
import Redaction

/// `plutchik bench redact`: the default redaction policy's cost per turn.
struct BenchRedactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redact",
        abstract: "Time the redactor (default policy) per turn on generated turns, or on a JSONL corpus's \"text\" fields.",
        discussion: """
            Generated turns are LabelledTextGenerator's (seeded; half hold sensitive data). Each pass redacts every \
            turn once; the figure is the best of --passes. With --json, prints one object: \
            {"turns","us_per_turn","turns_per_s","source"}.
            """
    )

    @Option(help: "A JSONL corpus with a \"text\" field (default: generated turns).")
    var corpus: String?

    @Option(help: "Generated turns (without --corpus).")
    var generated: Int = 10_000

    @Option(help: "Timed passes; the fastest counts.")
    var passes: Int = 3

    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func validate() throws {
        guard generated >= 1, passes >= 1 else { throw ValidationError("--generated and --passes must be at least 1") }
    }

    func run() throws {
        var texts: [String] = []
        if let corpus {
            var reader = try LineReader(path: corpus)
            defer { reader.close() }
            while let line = reader.next() {
                if let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let t = o["text"] as? String { texts.append(t) }
            }
            guard !texts.isEmpty else { throw ValidationError("\(corpus) has no \"text\" fields") }
        } else {
            var g = LabelledTextGenerator(seed: 41)
            texts = g.make(count: generated).map(\.text)
        }
        let redactor = try Redactor()
        var best = Double.infinity, sink = 0
        for _ in 0..<passes {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for t in texts { sink &+= redactor.redact(t).text.utf8.count }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        precondition(sink > 0)
        printFields([
            ("turns", "\(texts.count)"),
            ("us_per_turn", String(format: "%.2f", best * 1e6 / Double(texts.count))),
            ("turns_per_s", String(format: "%.0f", Double(texts.count) / best)),
            ("source", "\"\(corpus ?? "generated")\""),
        ], json: json)
    }
}
