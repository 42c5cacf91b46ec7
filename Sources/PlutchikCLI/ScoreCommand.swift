import ArgumentParser
import Contracts
import Emotion
import Encoder
import Foundation

/// `plutchik score`: turns as JSONL in, one emotion event per line out.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score turns (JSONL, Schemas/turn.schema.json) into emotion events (Schemas/emotion-event.schema.json), each dialogue in order with its context.",
        discussion: "Bad lines are reported on stderr with their line number and reason; the run goes on and exits 1 if any line failed.")

    @Option(name: .long, help: "Input JSONL, or - for stdin.") var input: String = "-"
    @Option(name: .long, help: "Output JSONL, or - for stdout.") var output: String = "-"
    @Option(name: .long, help: "Turns encoded per batch.") var batchSize: Int = 32
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var inference: InferenceOptions
    @OptionGroup var logging: LoggingOptions

    func run() throws {
        _ = try logging.makeLogger(label: "plutchik.score")
        let model = try heads.loadHeads()
        let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: model.encoderAdapterDirectory,
                                        configuration: inference.configuration(batchSize: 32))
        let inData = input == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: input))
        let out: FileHandle
        if output == "-" { out = .standardOutput } else {
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            guard let h = FileHandle(forWritingAtPath: output) else { throw ValidationError("cannot write \(output)") }
            out = h
        }
        let version = "minilm-l6-v2+\(model.manifest.version)"
        let encoder = EmotionEvent.encoder()
        var contexts: [String: DialogueContext] = [:]
        var failed = 0, scored = 0
        var pending: [Turn] = []

        func flush() throws {
            guard !pending.isEmpty else { return }
            let embeddings = try embedder.embed(pending.map(\.text), layers: model.encoderLayers)
            var buffer = Data()
            let predictions = model.predictNext(zip(pending, embeddings).map { (key: $0.dialogueID, vector: $1, text: $0.text, speaker: $0.speaker) },
                                                contexts: &contexts)
            for (turn, p) in zip(pending, predictions) {
                buffer.append(contentsOf: try EmotionEvent(turn: turn, prediction: p, modelVersion: version).jsonBytes(encoder: encoder))
                buffer.append(UInt8(ascii: "\n"))
            }
            out.write(buffer)
            scored += pending.count
            pending.removeAll(keepingCapacity: true)
        }

        var lineNumber = 0
        for line in inData.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = line[...]
            if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
            do {
                pending.append(try Turn.parse(bytes))
            } catch {
                failed += 1
                printError("line \(lineNumber): \(error.code.rawValue): \(error.message)")
                continue
            }
            if pending.count >= batchSize { try flush() }
        }
        try flush()
        if out !== FileHandle.standardOutput { try out.close() }
        printError("scored \(scored) turns, \(failed) bad lines")
        if failed > 0 { throw ExitCode(1) }
    }
}
