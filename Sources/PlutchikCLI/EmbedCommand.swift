import ArgumentParser
import Encoder
import Foundation

/// `plutchik embed`: JSONL with a "text" field in, the same objects with "embedding" out.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Add a 384-d all-MiniLM-L6-v2 sentence embedding to each JSONL line's \"text\".",
        discussion: """
            Each input line is a JSON object with a string "text"; it is written back unchanged with \
            "embedding": [384 floats] appended. Bad lines are reported on stderr with their line number \
            and skipped; the exit status is non-zero if any line failed.
            """
    )

    @Option(help: "Read JSONL from this file instead of stdin.")
    var input: String?

    @Option(help: "Write JSONL to this file instead of stdout.")
    var output: String?

    @Option(help: "Texts per encoder batch.")
    var batch: Int = 32

    @Option(help: "Embeddings kept in the exact-text LRU cache (0 turns it off).")
    var cacheSize: Int = 4096

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard cacheSize >= 0 else { throw ValidationError("--cache-size must be 0 or more") }
    }

    func run() throws {
        let (tokenizer, encoder) = try model.load(batchSize: batch)
        var reader = try LineReader(path: input)
        defer { reader.close() }
        let out: UnsafeMutablePointer<FILE>
        if let output {
            guard let f = fopen(output, "w") else {
                throw ValidationError("cannot open \(output) for writing: \(String(cString: strerror(errno)))")
            }
            out = f
        } else {
            out = fdopen(STDOUT_FILENO, "w")
        }
        defer { if output != nil { fclose(out) } else { fflush(out) } }

        var cache = EmbeddingCache(capacity: cacheSize)
        var failed = 0, written = 0
        var reused = 0   // repeats of a text already waiting in the same batch, encoded once
        // One batch of valid lines: the original line, its text, and its embedding once known.
        var pending: [(line: String, text: String, embedding: [Float]?)] = []

        func flush() throws {
            let misses = pending.indices.filter { pending[$0].embedding == nil }
            // Encode each distinct uncached text once.
            var firstIndex: [String: Int] = [:]
            var toEncode: [Int] = []
            for i in misses where firstIndex[pending[i].text] == nil {
                firstIndex[pending[i].text] = toEncode.count
                toEncode.append(i)
            }
            reused += misses.count - toEncode.count
            let embeddings = try encoder.encode(toEncode.map { tokenizer.encode(pending[$0].text) })
            for (k, i) in toEncode.enumerated() { cache.put(pending[i].text, embeddings[k]) }
            for i in misses { pending[i].embedding = embeddings[firstIndex[pending[i].text]!] }
            for p in pending {
                fputs(Self.appendEmbedding(p.line, p.embedding!), out)
                fputs("\n", out)
            }
            written += pending.count
            pending.removeAll(keepingCapacity: true)
            fflush(out)
        }

        var lineNumber = 0
        while let line = reader.next() {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8))
            guard let dict = object as? [String: Any] else {
                failed += 1
                FileHandle.standardError.write(Data("embed: line \(lineNumber): not a JSON object\n".utf8))
                continue
            }
            guard let text = dict["text"] as? String else {
                failed += 1
                FileHandle.standardError.write(Data("embed: line \(lineNumber): no string field \"text\"\n".utf8))
                continue
            }
            var base = line
            if dict["embedding"] != nil {
                // Replace an existing embedding: re-serialise without it.
                var d = dict
                d["embedding"] = nil
                base = String(decoding: try JSONSerialization.data(withJSONObject: d, options: [.sortedKeys]), as: UTF8.self)
            }
            pending.append((base, text, cache.get(text)))
            if pending.count == batch { try flush() }
        }
        try flush()
        let lookups = cache.hits + cache.misses
        let hitRate = lookups == 0 ? 0 : Double(cache.hits + reused) / Double(lookups)
        FileHandle.standardError.write(Data("embed: \(written) lines embedded, \(failed) failed, cache hit rate \(String(format: "%.1f", hitRate * 100))%\n".utf8))
        if failed > 0 { throw ExitCode(1) }
    }

    /// `{...}` → `{...,"embedding":[...]}`, keeping the original bytes of the object.
    static func appendEmbedding(_ line: String, _ embedding: [Float]) -> String {
        var s = line
        while let last = s.last, last.isWhitespace { s.removeLast() }
        s.removeLast()   // the closing brace
        while let last = s.last, last.isWhitespace { s.removeLast() }
        var out = s
        out += s.hasSuffix("{") ? "\"embedding\":[" : ",\"embedding\":["
        for (i, v) in embedding.enumerated() {
            if i > 0 { out += "," }
            out += v.description
        }
        out += "]}"
        return out
    }
}
