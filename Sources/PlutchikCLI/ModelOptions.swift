import ArgumentParser
import Contracts
import Encoder
import Foundation
import Tokenizer

/// `--model-dir`, `--adapter` and the inference options, shared by the commands that run the encoder.
struct ModelOptions: ParsableArguments {
    @Option(help: "Directory holding model.safetensors and vocab.txt (default: $PLUTCHIK_MODEL_DIR or ~/.cache/plutchik/all-MiniLM-L6-v2).")
    var modelDir: String = ModelOptions.defaultModelDir

    @OptionGroup var inference: InferenceOptions

    @Option(help: "A fine-tuned encoder adapter (`plutchik finetune`'s output directory), merged into the weights at load. The committed heads were trained on the base encoder's embeddings.")
    var adapter: String?

    static var defaultModelDir: String {
        if let dir = Settings.environment["PLUTCHIK_MODEL_DIR"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/all-MiniLM-L6-v2").path
    }

    /// Loads the tokenizer and the encoder, with a hint to fetch the model when it is missing.
    func load(batchSize: Int, maxLength: Int = 128) throws -> (WordPieceTokenizer, MiniLMEncoder) {
        let dir = URL(fileURLWithPath: modelDir)
        for f in ["vocab.txt", "model.safetensors"] where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path) {
            throw ModelError(.fileNotFound, "\(dir.appendingPathComponent(f).path) not found: run Deploy/fetch-model.sh or set --model-dir")
        }
        let tokenizer = try WordPieceTokenizer(vocabulary: dir.appendingPathComponent("vocab.txt"))
        let encoder = try MiniLMEncoder(
            modelFile: dir.appendingPathComponent("model.safetensors"), adapter: adapter.map { URL(fileURLWithPath: $0) },
            configuration: inference.configuration(batchSize: batchSize, maxLength: maxLength))
        return (tokenizer, encoder)
    }
}

/// Reads lines from a C stream with getline, without the trailing newline.
struct LineReader {
    let file: UnsafeMutablePointer<FILE>
    let owned: Bool
    var buffer: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0

    init(path: String?) throws {
        if let path {
            guard let f = fopen(path, "r") else { throw ValidationError("cannot open \(path): \(String(cString: strerror(errno)))") }
            file = f
            owned = true
        } else {
            file = fdopen(STDIN_FILENO, "r")
            owned = false
        }
    }

    mutating func next() -> String? {
        let n = getline(&buffer, &capacity, file)
        guard n >= 0, let buffer else { return nil }
        var len = n
        while len > 0, buffer[len - 1] == 0x0A || buffer[len - 1] == 0x0D { len -= 1 }
        return buffer.withMemoryRebound(to: UInt8.self, capacity: len) {
            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
        }
    }

    func close() {
        free(buffer)
        if owned { fclose(file) }
    }
}
