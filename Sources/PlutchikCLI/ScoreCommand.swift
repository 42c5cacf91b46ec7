import ArgumentParser
import Contracts
import Foundation
import Pipeline
import Redaction

/// `plutchik score`: turns as JSONL or CSV in, one emotion event per turn out, as JSONL or CSV.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score turns (JSONL, Schemas/turn.schema.json, or CSV) into emotion events (JSONL, Schemas/emotion-event.schema.json, or CSV), each dialogue in order with its context.",
        discussion: """
            CSV input (RFC 4180) needs a header row with a "text" column. The other turn fields are optional \
            columns: dialogue_id, turn_id, speaker, role, ts, tenant, scenario, topic, channel; further columns \
            are carried as attributes, and an empty cell counts as absent. Without a dialogue_id every row \
            belongs to --dialogue-id; without a turn_id a row is numbered by its place in its dialogue, from 1. \
            CSV output has one row per turn: dialogue_id, turn_id, speaker, text, label, confidence, is_neutral, \
            neutral, sarcasm, intensity, sector.

            Bad lines (JSONL) or rows (CSV) are reported on stderr as "line N: reason", N being the line the \
            record starts on, and skipped; the run goes on and exits 1 if any failed. When stderr is a terminal \
            and the input is over 1 MB or 2,000 rows, a progress line shows the share of the input read and \
            rows per second.

            Each event carries the same `escalation` object as the stream's, each dialogue's forecast advancing \
            turn by turn in input order from the turns' own `ts` (a turn without one, or with a `ts` that is not \
            a date-time, counts as no time elapsed since the dialogue's previous turn), through the stream's own \
            analyzer: a tenant's alert_upper/alert_lower, neutral_base_rate and neutral_threshold apply as in run, \
            and an alert's event carries the stream's explanation (no words for a tenant with hash_texts). CSV \
            output adds the escalation_risk and escalation_alert columns. Its text column, and the events' attributes, are redacted \
            by the turn's tenant's policy (the config file's tenant.NAME.redact* keys, as for run; by default every \
            entity of the README's "Sensitive data" as a type tag, [CARD]), and each event counts its findings in \
            `redactions`; the analysis reads the original.
            """)

    /// The format of the input or the output.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case jsonl, csv

        /// CSV for a file name ending in `.csv`, JSONL otherwise and for `-`.
        init(path: String) { self = path != "-" && path.lowercased().hasSuffix(".csv") ? .csv : .jsonl }
    }

    @Option(name: .long, help: "Input file, or - for stdin.") var input: String = "-"
    @Option(name: .long, help: "Output file, or - for stdout.") var output: String = "-"
    @Option(help: "Input format: jsonl or csv (default: csv when --input ends in .csv, else jsonl).") var inputFormat: Format?
    @Option(help: "Output format: jsonl (one event per line) or csv (default: csv when --output ends in .csv, else jsonl).") var outputFormat: Format?
    @Option(name: .customLong("dialogue-id"), help: "CSV input: the dialogue of rows without a dialogue_id (default: csv).") var dialogueID: String?
    @Option(help: "CSV input: the speaker of rows without one (default: customer).") var speaker: String?
    @Option(help: "CSV input: the topic of rows without one.") var topic: String?
    @Option(help: "CSV input: the scenario of rows without one.") var scenario: String?
    @Option(help: "A config file whose tenant.NAME.* keys set each tenant's redaction, alarm, neutral gate and hashed texts (as for run). Env: PLUTCHIK_CONFIG.")
    var config: String?
    @Option(name: .long, help: "Turns encoded per batch.") var batchSize: Int = 32
    @Option(help: "Escalation model directory (default: Models/escalation next to the heads).") var escalationDir: String?
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var inference: InferenceOptions
    @OptionGroup var logging: LoggingOptions

    var resolvedInputFormat: Format { inputFormat ?? Format(path: input) }
    var resolvedOutputFormat: Format { outputFormat ?? Format(path: output) }

    /// CSV output's columns.
    static let csvColumns = ["dialogue_id", "turn_id", "speaker", "text", "label", "confidence", "is_neutral", "neutral",
                             "sarcasm", "intensity", "sector", "escalation_risk", "escalation_alert"]

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if resolvedInputFormat == .jsonl && [dialogueID, speaker, topic, scenario].contains(where: { $0 != nil }) {
            throw ValidationError("--dialogue-id, --speaker, --topic and --scenario apply to CSV input only")
        }
        try Settings.load(flag: config)
    }

    func run() throws {
        _ = try logging.makeLogger(label: "plutchik.score")
        let inFormat = resolvedInputFormat, outFormat = resolvedOutputFormat
        let inHandle: FileHandle
        if input == "-" { inHandle = .standardInput } else {
            guard let h = FileHandle(forReadingAtPath: input) else { throw Failure("cannot read \(input)") }
            inHandle = h
        }
        // The CSV header is checked before the model loads.
        var defaults: [String: AnyJSON] = ["dialogue_id": .string(dialogueID ?? "csv"), "speaker": .string(speaker ?? "customer")]
        if let topic { defaults["topic"] = .string(topic) }
        if let scenario { defaults["scenario"] = .string(scenario) }
        let csvRows = inFormat == .csv ? try CSVTurns(handle: inHandle, defaults: defaults) : nil

        // The stream's own analyzer: the same heads, forecaster and tenant settings (alarm,
        // neutral base rate and threshold, hashed texts), so a backfill equals the stream.
        let policies = TenantPolicyStore(try Settings.tenantPolicies())
        let analyzer = try ModelAnalyzer(modelDirectory: heads.modelDirectory, headsDirectory: try heads.headsDirectory(),
                                         escalationDirectory: try EscalationSupport.modelDirectory(escalationDir, heads: heads),
                                         encoder: inference.configuration(batchSize: 32), policies: policies)
        do { try analyzer.validate(policies.policies) } catch { throw ValidationError("config file: \(error.message)") }
        var redactors: [String: Redactor] = [:]
        var states: [String: ModelAnalyzer.State] = [:]
        let out: FileHandle
        if output == "-" { out = .standardOutput } else {
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            guard let h = FileHandle(forWritingAtPath: output) else { throw ValidationError("cannot write \(output)") }
            out = h
        }
        if outFormat == .csv { out.write(Data(CSVWriter.record(Self.csvColumns).utf8)) }
        let version = analyzer.modelVersion
        let encoder = EmotionEvent.encoder()
        var failed = 0, scored = 0, rows = 0
        var pending: [Turn] = []
        var progress = Progress(total: Self.fileSize(inHandle))

        func flush() throws {
            guard !pending.isEmpty else { return }
            // A turn without a date-time counts as no time since its dialogue's previous turn;
            // turns of one dialogue in the same batch see their predecessors' times.
            var last: [String: Double] = [:]
            let timed = pending.map { turn in
                let t = turn.ts?.date?.timeIntervalSince1970 ?? last[turn.stateKey] ?? states[turn.stateKey]?.escalation.lastTimestamp ?? 0
                last[turn.stateKey] = t
                return TimedTurn(turn: turn, timestamp: Date(timeIntervalSince1970: t))
            }
            let analyses = try analyzer.analyze(timed, states: &states)
            var buffer = Data()
            for (turn, analysis) in zip(pending, analyses) {
                var event = EmotionEvent(turn: turn, prediction: analysis.prediction, modelVersion: version)
                event.escalation = analysis.escalation
                let redactor = redactors[turn.tenant ?? ""] ?? policies.policies.policy(for: turn.tenant).redactor()
                redactors[turn.tenant ?? ""] = redactor
                var shown = turn
                shown.text = redactor.redact(turn.text, explanation: analysis.explanation, into: &event)   // scored on the original
                // As in the stream: a tenant whose texts are kept only as hashes gets no words of them.
                if policies.policies.hashesTexts(of: turn.tenant, always: false) { event.explanation?.words = [] }
                switch outFormat {
                case .jsonl:
                    buffer.append(contentsOf: try event.jsonBytes(encoder: encoder))
                    buffer.append(UInt8(ascii: "\n"))
                case .csv:
                    buffer.append(contentsOf: CSVWriter.record(Self.csvRow(turn: shown, event: event)).utf8)
                }
            }
            out.write(buffer)
            scored += pending.count
            pending.removeAll(keepingCapacity: true)
        }

        func take(_ row: Result<Turn, BadRecord>, bytesRead: Int) throws {
            rows += 1
            switch row {
            case .success(let turn):
                pending.append(turn)
                if pending.count >= batchSize { try flush() }
            case .failure(let bad):
                failed += 1
                progress.clear()
                printError("line \(bad.line): \(bad.reason)")
            }
            progress.update(bytesRead: bytesRead, rows: rows)
        }

        if var csv = csvRows {
            while let row = try csv.next() { try take(row, bytesRead: csv.bytesRead) }
        } else {
            let inData = try inHandle.readToEnd() ?? Data()
            if progress.total == nil { progress.total = inData.count }
            var lineNumber = 0, offset = 0
            for line in inData.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                offset += line.count + 1
                var bytes = line[...]
                if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
                if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
                let row: Result<Turn, BadRecord>
                do { row = .success(try Turn.parse(bytes)) } catch {
                    row = .failure(BadRecord(line: lineNumber, reason: "\(error.code.rawValue): \(error.message)"))
                }
                try take(row, bytesRead: min(offset, inData.count))
            }
        }
        try flush()
        progress.clear()
        if out !== FileHandle.standardOutput { try out.close() }
        printError("scored \(scored) turns, \(failed) bad \(inFormat == .csv ? "rows" : "lines")")
        if failed > 0 { throw ExitCode(1) }
    }

    /// The CSV output row of a turn's event, in ``csvColumns`` order; numbers as in the JSONL events.
    static func csvRow(turn: Turn, event: EmotionEvent) -> [String] {
        func number(_ x: Float) -> String {
            var text = x.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            return text
        }
        return [event.dialogueID, String(event.turnID), event.speaker, turn.text, event.emotion.label.rawValue,
                number(event.emotion.confidence), String(event.emotion.isNeutral), number(event.emotion.neutral),
                number(event.sarcasm.probability), number(event.intensity), event.emotion.sector,
                event.escalation.map { number($0.risk) } ?? "", event.escalation.map { String($0.alert) } ?? ""]
    }

    /// The size of the regular file behind `handle` (a file named by `--input`, or redirected to
    /// stdin); nil for a pipe or a terminal.
    static func fileSize(_ handle: FileHandle) -> Int? {
        var st = stat()
        guard fstat(handle.fileDescriptor, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    /// An error that ends the run, with its message.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A record that is not a valid turn: the line it starts on and why.
    struct BadRecord: Error {
        var line: Int
        var reason: String
    }

    /// CSV rows read from a file as turns: each row becomes the JSON object of its non-empty cells
    /// over the flags' defaults, validated by `Turn.parse` as a JSONL line would be.
    struct CSVTurns {
        private let handle: FileHandle
        private let defaults: [String: AnyJSON]
        private var reader = CSVReader()
        /// Records read but not yet taken, last first.
        private var queued: [Result<CSVReader.Record, CSVReader.Malformed>] = []
        /// File bytes read but not yet parsed.
        private var chunk = Data()[...]
        private var atEnd = false
        /// The header's column names, trimmed.
        private(set) var columns: [String] = []
        /// Input bytes parsed so far.
        private(set) var bytesRead = 0
        /// Rows seen per dialogue, numbering the rows without a turn_id.
        private var rowsPerDialogue: [String: Int] = [:]

        /// Reads the header; throws unless it has a `text` column and no name twice.
        init(handle: FileHandle, defaults: [String: AnyJSON]) throws {
            self.handle = handle
            self.defaults = defaults
            switch try nextRecord() {
            case nil:
                throw Failure("the CSV input is empty: it needs a header row with a \"text\" column")
            case .failure(let malformed):
                throw Failure("the CSV header, \(malformed)")
            case .success(let header):
                columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
            }
            guard columns.contains("text") else {
                throw Failure("the CSV header has no \"text\" column (it has: \(columns.joined(separator: ", ")))")
            }
            var seen = Set<String>()
            for name in columns where !name.isEmpty && !seen.insert(name).inserted {
                throw Failure("the CSV header has the column \"\(name)\" twice")
            }
        }

        /// The next row as a turn, or why it is not one; nil at the end of the input.
        mutating func next() throws -> Result<Turn, BadRecord>? {
            guard let record = try nextRecord() else { return nil }
            switch record {
            case .failure(let malformed):
                return .failure(BadRecord(line: malformed.line, reason: malformed.reason))
            case .success(let row):
                guard row.fields.count == columns.count else {
                    return .failure(BadRecord(line: row.line, reason: "the row has \(row.fields.count) fields; the header has \(columns.count)"))
                }
                var object = defaults
                for (name, cell) in zip(columns, row.fields) where !name.isEmpty && (!cell.isEmpty || name == "text") {
                    object[name] = switch name {
                    case "turn_id", "ts": Self.number(cell) ?? .string(cell)
                    default: .string(cell)
                    }
                }
                if case .string(let dialogue) = object["dialogue_id"] {
                    rowsPerDialogue[dialogue, default: 0] += 1
                    if object["turn_id"] == nil { object["turn_id"] = .integer(Int64(rowsPerDialogue[dialogue]!)) }
                }
                do {
                    return .success(try Turn.parse(try JSONEncoder().encode(AnyJSON.object(object))))
                } catch let error as TurnValidationError {
                    return .failure(BadRecord(line: row.line, reason: "\(error.code.rawValue): \(error.message)"))
                }
            }
        }

        /// A cell holding a number (a `turn_id`, or a `ts` in epoch milliseconds) as one, for
        /// `Turn.parse` to judge; nil for any other text.
        static func number(_ cell: String) -> AnyJSON? {
            let t = cell.trimmingCharacters(in: .whitespaces)
            if let i = Int64(t) { return .integer(i) }
            if let d = Double(t), d.isFinite { return .number(d) }
            return nil
        }

        /// The next record, reading the file 64 KB at a time and parsing it 4 KB at a time (so
        /// that `bytesRead` stays within 4 KB of the records taken).
        private mutating func nextRecord() throws -> Result<CSVReader.Record, CSVReader.Malformed>? {
            while queued.isEmpty && !atEnd {
                if chunk.isEmpty {
                    guard let next = try handle.read(upToCount: 1 << 16), !next.isEmpty else {
                        atEnd = true
                        queued = reader.finish().reversed()
                        break
                    }
                    chunk = next[...]
                }
                let piece = chunk.prefix(4_096)
                chunk = chunk.dropFirst(piece.count)
                bytesRead += piece.count
                queued = reader.read(piece).reversed()
            }
            return queued.popLast()
        }
    }

    /// The progress line on stderr: drawn only when stderr is a terminal and the input is over
    /// 1 MB or 2,000 rows, redrawn at most 5 times a second, cleared before other output.
    struct Progress {
        /// The input's size in bytes, when known.
        var total: Int?
        private let enabled = isatty(2) == 1
        private let start = ContinuousClock.now
        private var lastDraw: ContinuousClock.Instant
        private var visible = false

        init(total: Int?) {
            self.total = total
            lastDraw = start
        }

        mutating func update(bytesRead: Int, rows: Int) {
            guard enabled, (total ?? 0) > 1_000_000 || rows > 2_000 else { return }
            let now = ContinuousClock.now
            guard now - lastDraw >= .milliseconds(200) else { return }
            lastDraw = now
            var line = "\r"
            if let total, total > 0 {
                let fraction = min(Double(bytesRead) / Double(total), 1)
                let filled = Int(fraction * 30)
                line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
                line += String(format: "%3.0f%%  ", fraction * 100)
            }
            line += "\(rows) rows  " + String(format: "%.0f rows/s\u{1B}[K", Double(rows) / max((now - start) / .seconds(1), 1e-3))
            FileHandle.standardError.write(Data(line.utf8))
            visible = true
        }

        mutating func clear() {
            guard visible else { return }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            visible = false
        }
    }
}
