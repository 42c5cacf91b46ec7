import Foundation
import Kernels
import Tokenizer
import Contracts

/// How an encoder runs.
public struct EncoderConfiguration: Sendable {
    /// Threads for the dense layers: our packed GEMMs (AVX-512 or AVX2+FMA, fp32 or bf16)
    /// split their output columns over this many GCD threads; on CPUs with neither it is
    /// OpenBLAS's (process-wide) thread count. One leaves the other core to Kafka and PostgreSQL.
    public var threads: Int
    /// Longest accepted token sequence, [CLS] and [SEP] included (at most 512).
    public var maxLength: Int
    /// Sequences per forward pass; larger inputs are split into batches of this size.
    public var batchSize: Int
    /// The dense layers' arithmetic (`.auto`: bf16 on AVX512-BF16, about 1.7× the fp32 speed
    /// here with cosine to fp32 ≥ 0.9995; fp32 elsewhere).
    public var precision: EncoderPrecision
    /// For int8: token-id sequences the fp32 encoder runs at load to find each dense layer's
    /// input channel ranges, from which `smoothed` matrices get SmoothQuant factors. Empty: none.
    public var int8Calibration: [[Int32]]
    /// The matrices smoothed when there is a calibration set.
    public var smoothed: Set<ActivationRanges.Matrix>
    /// SmoothQuant's migration strength α.
    public var smoothingAlpha: Float

    public init(threads: Int = 1, maxLength: Int = 128, batchSize: Int = 32, precision: EncoderPrecision = .fp32,
                int8Calibration: [[Int32]] = [], smoothed: Set<ActivationRanges.Matrix> = [.qkv, .ffnIn], smoothingAlpha: Float = 0.5) {
        self.threads = threads
        self.maxLength = maxLength
        self.batchSize = batchSize
        self.precision = precision
        self.int8Calibration = int8Calibration
        self.smoothed = smoothed
        self.smoothingAlpha = smoothingAlpha
    }
}

/// The all-MiniLM-L6-v2 sentence encoder: BERT forward pass, mean pooling, L2 normalisation.
///
/// A batch's sequences are packed without padding into one (tokens, 384) matrix, so the
/// dense layers run over real tokens only; attention runs per sequence. Scratch buffers
/// are kept between calls, so an encoder is not safe to share between threads: give each
/// task its own.
public final class MiniLMEncoder {
    /// Width of an embedding.
    public var dimension: Int { cf.hidden }
    public let configuration: EncoderConfiguration

    let w: MiniLMWeights
    let cf: MiniLMConfig
    /// The dense weights in bf16 (or int8), one entry per layer, when running that path.
    let packed: [PackedLayer<PackedBF16Matrix>]?
    private(set) var quantized: [PackedLayer<PackedInt8Matrix>]?
    /// Set while calibrating: each dense layer's input ranges, taken in by `forward`.
    var ranges: ActivationRanges?

    struct PackedLayer<Matrix> {
        var qkv: Matrix       // (3C, C)
        var attnOut: Matrix   // (C, C)
        var ffnIn: Matrix     // (F, C)
        var ffnOut: Matrix    // (C, F)
    }

    /// The arithmetic the dense layers run in (`configuration.precision` resolved on this CPU).
    public var precision: EncoderPrecision { quantized != nil ? .int8 : packed != nil ? .bf16 : .fp32 }
    /// The precision and, for smoothed int8, the smoothing: what an embedding cache is keyed by.
    public private(set) var numericsTag = ""
    // Scratch, sized for `capacity` packed tokens; grown on demand, never shrunk.
    var capacity = 0
    var x: UnsafeMutablePointer<Float>      // (N, C) hidden state
    var y: UnsafeMutablePointer<Float>      // (N, C) residual sums
    var ctx: UnsafeMutablePointer<Float>    // (N, C) attention output
    var qkv: UnsafeMutablePointer<Float>    // (N, 3C)
    var ffn: UnsafeMutablePointer<Float>    // (N, F)
    var attnScratch: UnsafeMutablePointer<Float>
    var bf16Scratch: UnsafeMutablePointer<UInt16>   // A in bf16 for the bf16 GEMM
    var int8Scratch: Int8Scratch                     // A quantised for the int8 GEMM

    /// Loads the weights from `model.safetensors` (or the directory holding it), with an optional
    /// fine-tuned adapter (`plutchik finetune`'s output directory or its `adapter.safetensors`)
    /// merged in at load time; the adapter's SHA-256 must match its manifest. int8 without a
    /// calibration set of its own calibrates on `Int8CalibrationSet`, tokenised with the
    /// `vocab.txt` beside the model file.
    public convenience init(modelFile: URL, adapter: URL? = nil, configuration: EncoderConfiguration = .init()) throws {
        var url = modelFile
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            url = url.appendingPathComponent("model.safetensors")
        }
        let st = try SafeTensors(url: url)
        let lora = try adapter.map { try EncoderAdapter(url: $0) }
        var configuration = configuration
        if configuration.precision.resolved == .int8 && configuration.int8Calibration.isEmpty {
            // int8 calibrates on the bundled set, tokenised with the model's own vocabulary.
            let tokenizer = try WordPieceTokenizer(vocabulary: url.deletingLastPathComponent().appendingPathComponent("vocab.txt"))
            configuration.int8Calibration = Int8CalibrationSet.texts.map { tokenizer.encode($0, maxLength: configuration.maxLength) }
        }
        try self.init(weights: MiniLMWeights(file: st, panels32: CPUFeatures.packedGemm, adapter: lora), configuration: configuration)
    }

    init(weights: MiniLMWeights, configuration: EncoderConfiguration) throws {
        guard (1...weights.config.maxPositions).contains(configuration.maxLength), configuration.batchSize >= 1 else {
            throw ModelError(.invalidInput, "maxLength must be 1...\(weights.config.maxPositions) and batchSize ≥ 1")
        }
        self.w = weights
        self.cf = weights.config
        self.configuration = configuration
        setBLASThreads(configuration.threads)
        x = .allocate(capacity: 0); y = .allocate(capacity: 0); ctx = .allocate(capacity: 0)
        qkv = .allocate(capacity: 0); ffn = .allocate(capacity: 0); bf16Scratch = .allocate(capacity: 0)
        let (c, f) = (weights.config.hidden, weights.config.ffn)
        func layers<M>(_ pack: (UnsafePointer<Float>, Int, Int) -> M) -> [PackedLayer<M>] {
            weights.layers.map { l in
                PackedLayer(qkv: pack(l.qkvW, 3 * c, c), attnOut: pack(l.attnOutW, c, c), ffnIn: pack(l.ffnInW, f, c), ffnOut: pack(l.ffnOutW, c, f))
            }
        }
        let precision = configuration.precision.resolved
        packed = precision == .bf16
            ? layers { weights.panels32 ? PackedBF16Matrix(panels32: $0, n: $1, k: $2) : PackedBF16Matrix($0, n: $1, k: $2) } : nil
        quantized = nil
        int8Scratch = Int8Scratch(m: 0, k: 0)
        attnScratch = .allocate(capacity: attentionScratchCount(tokens: configuration.maxLength, headDim: cf.headDim))
        numericsTag = precision.rawValue
        guard precision == .int8 else { return }
        // The fp32 forward (nothing packed yet) over the calibration set.
        let ranges = configuration.int8Calibration.isEmpty ? nil : try activationRanges(configuration.int8Calibration)
        let (alpha, smoothed, panels32) = (configuration.smoothingAlpha, configuration.smoothed, weights.panels32)
        if ranges != nil && !smoothed.isEmpty {
            numericsTag += "-sq\(alpha)-" + ActivationRanges.Matrix.allCases.filter(smoothed.contains).map { "\($0)" }.joined(separator: "-")
        }
        quantized = weights.layers.enumerated().map { li, l in
            func pack(_ w: UnsafePointer<Float>, _ n: Int, _ k: Int, _ m: ActivationRanges.Matrix) -> PackedInt8Matrix {
                let s = smoothed.contains(m)
                    ? ranges?.smoothing(li, m, weightMaxima: PackedInt8Matrix.inputChannelMaxima(w, n: n, k: k, panels32: panels32), alpha: alpha)
                    : nil
                return PackedInt8Matrix(w, n: n, k: k, panels32: panels32, smoothing: s)
            }
            return PackedLayer(qkv: pack(l.qkvW, 3 * c, c, .qkv), attnOut: pack(l.attnOutW, c, c, .attnOut),
                               ffnIn: pack(l.ffnInW, f, c, .ffnIn), ffnOut: pack(l.ffnOutW, c, f, .ffnOut))
        }
        if capacity > 0 { int8Scratch = Int8Scratch(m: capacity, k: max(c, f)) }   // calibration reserved without it
    }

    deinit {
        for p in [x, y, ctx, qkv, ffn, attnScratch] { p.deallocate() }
        bf16Scratch.deallocate()
    }

    func reserve(tokens needed: Int) {
        guard needed > capacity else { return }
        let n = max(needed, capacity + capacity / 2)   // grow geometrically: few reallocations
        for p in [x, y, ctx, qkv, ffn] { p.deallocate() }
        let c = cf.hidden
        x = .allocate(capacity: n * c); y = .allocate(capacity: n * c); ctx = .allocate(capacity: n * c)
        qkv = .allocate(capacity: n * 3 * c); ffn = .allocate(capacity: n * cf.ffn)
        bf16Scratch.deallocate()
        bf16Scratch = .allocate(capacity: packed == nil ? 0 : bf16ScratchCount(m: n, k: max(c, cf.ffn)))
        if quantized != nil { int8Scratch = Int8Scratch(m: n, k: max(c, cf.ffn)) }
        capacity = n
    }

    /// Embeds each token-id sequence (as produced by the WordPiece tokenizer, with [CLS] and
    /// [SEP]) into a unit-length vector.
    ///
    /// - Throws: `ModelError(.invalidInput)` for an empty sequence, one longer than
    ///   `maxLength`, or an id outside the vocabulary.
    public func encode(_ batch: [[Int32]]) throws -> [[Float]] {
        var flat = [Float](repeating: 0, count: batch.count * cf.hidden)
        try flat.withUnsafeMutableBufferPointer { try encode(batch, into: $0.baseAddress!) }
        return (0..<batch.count).map { Array(flat[($0 * cf.hidden)..<(($0 + 1) * cf.hidden)]) }
    }

    /// Embeds `batch` into `out`, a (B, 384) row-major buffer.
    public func encode(_ batch: [[Int32]], into out: UnsafeMutablePointer<Float>) throws {
        try check(batch)
        var start = 0
        while start < batch.count {
            let end = min(batch.count, start + configuration.batchSize)
            forward(batch[start..<end], out + start * cf.hidden)
            start = end
        }
    }

    func check(_ batch: [[Int32]]) throws {
        for (i, ids) in batch.enumerated() {
            guard !ids.isEmpty, ids.count <= configuration.maxLength else {
                throw ModelError(.invalidInput, "sequence \(i) has \(ids.count) tokens; expected 1...\(configuration.maxLength)")
            }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= cf.vocabSize }) {
                throw ModelError(.invalidInput, "sequence \(i) has token id \(bad) outside the vocabulary of \(cf.vocabSize)")
            }
        }
    }

    /// Embeds each sequence as `encode(_:)` does and also returns, per sequence, the mean over its
    /// tokens of the hidden state after each of `layers` (0 = the embedding layer's output,
    /// 1...6 = after that transformer layer), concatenated in the order given: (B, 384·layers.count).
    /// The embeddings are bit-identical to `encode(_:)`'s; the extra pooling is one pass over the
    /// tokens per requested layer.
    public func encode(_ batch: [[Int32]], layers: [Int]) throws -> (embeddings: [[Float]], layerFeatures: [[Float]]) {
        guard layers.allSatisfy({ (0...cf.layers).contains($0) }) else {
            throw ModelError(.invalidInput, "layers must be in 0...\(cf.layers); got \(layers)")
        }
        let c = cf.hidden, lc = layers.count * c
        var flat = [Float](repeating: 0, count: batch.count * c)
        var pooled = [Float](repeating: 0, count: batch.count * lc)
        try flat.withUnsafeMutableBufferPointer { fp in
            try pooled.withUnsafeMutableBufferPointer { pp in
                try check(batch)
                var start = 0
                while start < batch.count {
                    let end = min(batch.count, start + configuration.batchSize)
                    forward(batch[start..<end], fp.baseAddress! + start * c,
                            layers: layers, layerOut: lc == 0 ? nil : pp.baseAddress! + start * lc)
                    start = end
                }
            }
        }
        return ((0..<batch.count).map { Array(flat[($0 * c)..<(($0 + 1) * c)]) },
                (0..<batch.count).map { Array(pooled[($0 * lc)..<(($0 + 1) * lc)]) })
    }

    /// Multiply-adds ×2 for one forward pass over sequences of these lengths.
    public static func flops(sequenceLengths: some Sequence<Int>, config cf: MiniLMConfig = .allMiniLML6) -> Double {
        let c = Double(cf.hidden), f = Double(cf.ffn)
        let perToken = 2 * (3 * c * c + c * c + 2 * c * f)
        var total = 0.0
        for t in sequenceLengths {
            let td = Double(t)
            total += td * perToken + 2 * 2 * td * td * c   // dense layers + QKᵀ and PV
        }
        return total * Double(cf.layers)
    }

    /// out = a · Wᵀ + bias [+ residual] on this encoder's kernel: int8, bf16, packed fp32 (AVX-512
    /// or AVX2+FMA; batch-invariant), or OpenBLAS.
    func linear(
        _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
        _ wf: UnsafePointer<Float>, _ wb: PackedBF16Matrix?, _ wq: PackedInt8Matrix?, _ bias: UnsafePointer<Float>,
        residual: UnsafePointer<Float>?, m: Int, n: Int, k: Int
    ) {
        let threads = configuration.threads
        if let wq {
            matmulInt8(out, a, wq, bias, residual: residual, m: m, scratch: int8Scratch, threads: threads)
        } else if let wb {
            matmulBF16(out, a, wb, bias, residual: residual, m: m, scratch: bf16Scratch, threads: threads)
        } else if w.panels32 {
            matmulPacked(out, a, wf, bias, residual: residual, m: m, n: n, k: k, threads: threads)
        } else if let residual {
            matmulTransposedResidual(out, a, wf, bias, residual: residual, m: m, n: n, k: k)
        } else {
            matmulTransposed(out, a, wf, bias, m: m, n: n, k: k)
        }
    }

    /// ctx = attention(qkv) for each sequence of the packed batch.
    func attentionAll(_ batch: ArraySlice<[Int32]>) {
        let c = cf.hidden
        var row = 0
        for ids in batch {
            attention(ctx + row * c, outStride: c, qkv + row * 3 * c, qkvStride: 3 * c,
                      tokens: ids.count, heads: cf.heads, headDim: cf.headDim, scratch: attnScratch)
            row += ids.count
        }
    }

    /// One packed forward pass; inputs already checked.
    /// With `layerOut`, also writes each sequence's mean-pooled hidden state after each of
    /// `layers` into `layerOut`, a (B, C·layers.count) buffer.
    func forward(_ batch: ArraySlice<[Int32]>, _ out: UnsafeMutablePointer<Float>,
                 layers: [Int] = [], layerOut: UnsafeMutablePointer<Float>? = nil) {
        let c = cf.hidden, f = cf.ffn
        let n = batch.reduce(0) { $0 + $1.count }
        reserve(tokens: n)

        // Embeddings: word + position + token type 0, then layernorm.
        var row = 0
        for ids in batch {
            for (pos, id) in ids.enumerated() {
                let xr = x + (row + pos) * c
                add(xr, w.wordEmb + Int(id) * c, w.posEmb + pos * c, count: c)
                add(xr, xr, w.typeEmb, count: c)
            }
            row += ids.count
        }
        layerNorm(x, x, w.embLnG, w.embLnB, rows: n, cols: c, eps: cf.layerNormEps)
        /// Mean-pools x into the layer-feature slots of every layer `index` was requested as.
        func poolLayer(_ index: Int) {
            guard let layerOut else { return }
            let stride = layers.count * c
            for (slot, l) in layers.enumerated() where l == index {
                var r = 0
                for (b, ids) in batch.enumerated() {
                    let o = layerOut + b * stride + slot * c
                    o.update(repeating: 0, count: c)
                    for t in 0..<ids.count { add(o, o, x + (r + t) * c, count: c) }
                    let inv = 1 / Float(ids.count)
                    for i in 0..<c { o[i] *= inv }
                    r += ids.count
                }
            }
        }
        poolLayer(0)

        for (li, l) in w.layers.enumerated() {
            let p = packed?[li], q = quantized?[li]
            ranges?.record(li, .qkv, x, rows: n)
            linear(qkv, x, l.qkvW, p?.qkv, q?.qkv, l.qkvB, residual: nil, m: n, n: 3 * c, k: c)        // (N, 3C)
            attentionAll(batch)                                                                        // (N, C)
            ranges?.record(li, .attnOut, ctx, rows: n)
            linear(y, ctx, l.attnOutW, p?.attnOut, q?.attnOut, l.attnOutB, residual: x, m: n, n: c, k: c)
            layerNorm(x, y, l.ln1G, l.ln1B, rows: n, cols: c, eps: cf.layerNormEps)
            ranges?.record(li, .ffnIn, x, rows: n)
            linear(ffn, x, l.ffnInW, p?.ffnIn, q?.ffnIn, l.ffnInB, residual: nil, m: n, n: f, k: c)     // (N, F)
            gelu(ffn, ffn, count: n * f)
            ranges?.record(li, .ffnOut, ffn, rows: n)
            linear(y, ffn, l.ffnOutW, p?.ffnOut, q?.ffnOut, l.ffnOutB, residual: x, m: n, n: c, k: f)
            layerNorm(x, y, l.ln2G, l.ln2B, rows: n, cols: c, eps: cf.layerNormEps)
            poolLayer(li + 1)
        }

        // Mean pooling over each sequence, then L2 normalisation.
        row = 0
        for (b, ids) in batch.enumerated() {
            let o = out + b * c
            o.update(repeating: 0, count: c)
            for t in 0..<ids.count { add(o, o, x + (row + t) * c, count: c) }
            let inv = 1 / Float(ids.count)
            var norm: Float = 0
            for i in 0..<c { o[i] *= inv; norm += o[i] * o[i] }
            let scale = 1 / max(norm.squareRoot(), 1e-12)
            for i in 0..<c { o[i] *= scale }
            row += ids.count
        }
    }
}
