import ArgumentParser
import Foundation
import Redaction

/// `plutchik eval-redaction`: precision and recall per entity of the default redaction policy on a
/// seeded generated set, and its findings on corpora taken to hold no sensitive data.
struct EvalRedactionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-redaction",
        abstract: "Measure the redactor (default policy, or a tenant's): precision/recall per entity on generated turns, findings on PII-free corpora.",
        discussion: """
            The generated set (LabelledTextGenerator, seeded) mixes turns with labelled entities and turns without \
            (order numbers, prices, timestamps, product codes, Luhn-invalid cards, IBANs with a wrong check). A finding \
            counts as correct when it overlaps a labelled entity of its kind. Each --data file is JSONL with a "text" \
            field; every finding in it counts as a false positive (check them: the corpus may hold real data). \
            With --json, prints one object: {"generated":{"turns","seed","entities":{NAME:{"labelled","recalled", \
            "found","correct","recall","precision"}},"pii_free_turns","false_positives","false_positives_per_5000"}, \
            "corpora":[{"path","turns","findings":{NAME:count},"false_positives_per_5000"}]}.
            """
    )

    @Option(help: "A JSONL file of texts without sensitive data (\"text\" field); repeatable.")
    var data: [String] = []

    @Option(help: "Generated turns (half of them without sensitive data).")
    var generated: Int = 20_000

    @Option(help: "The generator's seed.")
    var seed: UInt64 = 41

    @Option(help: "A config file whose tenant redaction keys set the policy (default: every entity, type tags).")
    var config: String?

    @Option(help: "The tenant whose policy to measure (with --config; default: tenant.*).")
    var tenant: String?

    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func validate() throws {
        guard generated >= 0 else { throw ValidationError("--generated must not be negative") }
    }

    func run() throws {
        var policy = RedactionPolicy()
        if let config {
            let policies = try TenantSettings.redactionPolicies(from: try Settings.parse(config), environment: ProcessInfo.processInfo.environment)
            policy = policies[tenant ?? "*"] ?? policies["*"]!
        }
        let redactor = try Redactor(policy: policy)
        var generator = LabelledTextGenerator(seed: seed)
        let e = redactor.evaluate(generator.make(count: generated))
        var entities: [String] = []
        for (name, t) in e.entities.sorted(by: { $0.key < $1.key }) {
            entities.append("\"\(name)\":{\"labelled\":\(t.labelled),\"recalled\":\(t.recalled),\"found\":\(t.found),\"correct\":\(t.correct),"
                            + "\"recall\":\(String(format: "%.4f", t.recall)),\"precision\":\(String(format: "%.4f", t.precision))}")
            if !json {
                print("\(name): recall \(String(format: "%.4f", t.recall)) (\(t.recalled)/\(t.labelled)), precision \(String(format: "%.4f", t.precision)) (\(t.correct)/\(t.found))")
            }
        }
        let fpRate = String(format: "%.2f", e.falsePositivesPer5000)
        if !json { print("generated: \(generated) turns (seed \(seed)), \(e.piiFreeFindings) false positives in \(e.piiFreeTexts) PII-free turns = \(fpRate) per 5,000") }
        var corpora: [String] = []
        for path in data {
            var reader = try LineReader(path: path)
            defer { reader.close() }
            var turns = 0, findings: [String: Int] = [:], lineNumber = 0
            while let line = reader.next() {
                lineNumber += 1
                if line.isEmpty { continue }
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let text = o["text"] as? String else {
                    throw ValidationError("\(path):\(lineNumber): not a JSON object with a string \"text\"")
                }
                turns += 1
                findings.merge(redactor.redact(text).counts, uniquingKeysWith: +)
            }
            let total = findings.values.reduce(0, +)
            let rate = String(format: "%.2f", turns == 0 ? 0 : Double(total) * 5000 / Double(turns))
            let counts = findings.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
            corpora.append("{\"path\":\"\(path)\",\"turns\":\(turns),\"findings\":{\(counts)},\"false_positives_per_5000\":\(rate)}")
            if !json { print("\(path): \(turns) turns, \(total) findings (\(counts.isEmpty ? "none" : counts)) = \(rate) per 5,000") }
        }
        if json {
            print("{\"generated\":{\"turns\":\(generated),\"seed\":\(seed),\"entities\":{\(entities.joined(separator: ","))},"
                  + "\"pii_free_turns\":\(e.piiFreeTexts),\"false_positives\":\(e.piiFreeFindings),\"false_positives_per_5000\":\(fpRate)},"
                  + "\"corpora\":[\(corpora.joined(separator: ","))]}")
        }
    }
}
