import Foundation
import Contracts
import Tokenizer

/// Tokenizer plus encoder: texts in, unit-length embeddings out, optionally through a cache.
public final class TextEmbedder {
    public let tokenizer: WordPieceTokenizer
    public let encoder: MiniLMEncoder
    var cache: EmbeddingStore?
    /// Caches of embeddings with layer features, by layer list.
    var layerCaches: [[Int]: EmbeddingStore] = [:]
    let cacheDirectory: URL?

    /// Loads `vocab.txt` and `model.safetensors` from `modelDirectory`, with the fine-tuned `adapter`
    /// (a `plutchik finetune` directory) merged in when given. With `cacheDirectory`, embeddings are
    /// cached there in a file named after the model's SHA-256 (and the adapter's).
    public init(modelDirectory: URL, adapter: URL? = nil, configuration: EncoderConfiguration = .init(), cacheDirectory: URL? = nil) throws {
        tokenizer = try WordPieceTokenizer(vocabulary: modelDirectory.appendingPathComponent("vocab.txt"))
        let modelFile = modelDirectory.appendingPathComponent("model.safetensors")
        encoder = try MiniLMEncoder(modelFile: modelFile, adapter: adapter, configuration: configuration)
        self.cacheDirectory = cacheDirectory
        if let cacheDirectory {
            let adapterSHA256 = try adapter.map { adapter in
                let file = adapter.hasDirectoryPath || adapter.pathExtension.isEmpty ? adapter.appendingPathComponent(EncoderAdapter.fileName) : adapter
                return try SHA256.hex(fileAt: file)
            }
            let sha = EncoderAdapter.encoderSHA256(model: try SHA256.hex(fileAt: modelFile), adapter: adapterSHA256)
            modelSHA256 = sha
            // bf16 embeddings differ from fp32 ones: their own files.
            cacheStem = "embeddings-\(sha.prefix(16))" + (encoder.precision == .fp32 ? "" : "-\(encoder.numericsTag)")
            cache = EmbeddingStore(url: cacheDirectory.appendingPathComponent("\(cacheStem).bin"), dimension: encoder.dimension)
        }
    }

    /// SHA-256 of the model file (computed only when caching).
    public private(set) var modelSHA256: String?
    /// The cache files' name before their extension: the model's hash and the precision.
    var cacheStem = ""

    /// Embeds `texts` (cached ones are not re-encoded), batching by similar length.
    /// `progress` is called with the number encoded so far.
    ///
    /// With `layers`, each vector is the embedding followed by the mean-pooled hidden states of
    /// those encoder layers (see `MiniLMEncoder.encode(_:layers:)`): 384·(1 + layers.count) values.
    /// Without `caching`, the cache is neither read nor written (texts made up for one measurement).
    public func embed(_ texts: [String], layers: [Int] = [], caching: Bool = true, progress: ((Int, Int) -> Void)? = nil) throws -> [[Float]] {
        var cache = caching ? self.cache : nil
        if caching, !layers.isEmpty {
            cache = nil
            if let cacheDirectory, modelSHA256 != nil {
                if layerCaches[layers] == nil {
                    let name = "\(cacheStem)-layers-\(layers.map(String.init).joined(separator: "-")).bin"
                    layerCaches[layers] = EmbeddingStore(url: cacheDirectory.appendingPathComponent(name),
                                                         dimension: encoder.dimension * (1 + layers.count))
                }
                cache = layerCaches[layers]
            }
        }
        var out = [[Float]?](repeating: nil, count: texts.count)
        var missing: [Int] = []
        var seen: [String: Int] = [:]
        for (i, t) in texts.enumerated() {
            if let v = cache?[t] { out[i] = v } else if seen[t] == nil { seen[t] = i; missing.append(i) }
        }
        let maxLength = encoder.configuration.maxLength
        let ids = missing.map { tokenizer.encode(texts[$0], maxLength: maxLength) }
        let order = missing.indices.sorted { ids[$0].count < ids[$1].count }
        var done = 0
        for start in stride(from: 0, to: order.count, by: encoder.configuration.batchSize) {
            let chunk = Array(order[start..<min(order.count, start + encoder.configuration.batchSize)])
            let vectors: [[Float]]
            if layers.isEmpty {
                vectors = try encoder.encode(chunk.map { ids[$0] })
            } else {
                let r = try encoder.encode(chunk.map { ids[$0] }, layers: layers)
                vectors = zip(r.embeddings, r.layerFeatures).map { $0 + $1 }
            }
            for (k, j) in chunk.enumerated() {
                out[missing[j]] = vectors[k]
                cache?[texts[missing[j]]] = vectors[k]
            }
            done += chunk.count
            progress?(done, order.count)
        }
        for (i, t) in texts.enumerated() where out[i] == nil { out[i] = out[seen[t]!] }
        try cache?.save()
        return out.map { $0! }
    }
}
