import Kernels
import Contracts

/// Shape of a BERT encoder; `allMiniLML6` is the one this project ships.
public struct MiniLMConfig: Sendable, Equatable {
    public var vocabSize = 30_522
    public var hidden = 384
    public var heads = 12
    public var headDim = 32
    public var ffn = 1536
    public var layers = 6
    public var maxPositions = 512
    public var typeVocab = 2
    public var layerNormEps: Float = 1e-12

    public init(vocabSize: Int = 30_522, hidden: Int = 384, heads: Int = 12, headDim: Int = 32, ffn: Int = 1536,
                layers: Int = 6, maxPositions: Int = 512, typeVocab: Int = 2, layerNormEps: Float = 1e-12) {
        self.vocabSize = vocabSize; self.hidden = hidden; self.heads = heads; self.headDim = headDim; self.ffn = ffn
        self.layers = layers; self.maxPositions = maxPositions; self.typeVocab = typeVocab; self.layerNormEps = layerNormEps
    }

    /// sentence-transformers/all-MiniLM-L6-v2.
    public static let allMiniLML6 = MiniLMConfig()
}

/// One transformer layer's weights, pointers into `MiniLMWeights.storage`.
/// Linear weights are [out, in]; Q, K and V are fused into one (3C, C) matrix.
package struct MiniLMLayerWeights {
    package var qkvW: UnsafeMutablePointer<Float>     // (3C, C) rows: query, key, value
    package var qkvB: UnsafeMutablePointer<Float>     // (3C)
    package var attnOutW: UnsafeMutablePointer<Float> // (C, C)
    package var attnOutB: UnsafeMutablePointer<Float> // (C)
    package var ln1G: UnsafeMutablePointer<Float>     // (C)
    package var ln1B: UnsafeMutablePointer<Float>     // (C)
    package var ffnInW: UnsafeMutablePointer<Float>   // (F, C)
    package var ffnInB: UnsafeMutablePointer<Float>   // (F)
    package var ffnOutW: UnsafeMutablePointer<Float>  // (C, F)
    package var ffnOutB: UnsafeMutablePointer<Float>  // (C)
    package var ln2G: UnsafeMutablePointer<Float>     // (C)
    package var ln2B: UnsafeMutablePointer<Float>     // (C)
}

/// All encoder weights in one float block, copied out of a safetensors file with every
/// name, dtype and shape checked. Immutable after init.
///
/// The word embeddings (30,522 × 384 floats, half of MiniLM's 91 MB) are read in place from the
/// file's read-only mapping when they are F32 and 4-byte aligned (they are in the published
/// file): only the rows of tokens actually seen become resident, as clean page cache the kernel
/// can reclaim, rather than 47 MB of private memory. Otherwise they are copied like the rest.
/// Replace a model file by renaming a new one over it, not by rewriting it in place, while a
/// process has it loaded (`Deploy/fetch-model.sh` does).
///
/// With `panels32`, the four dense matrices of each layer are stored in `packPanels32`
/// layout for `matmulPacked` instead of row-major [out, in].
package final class MiniLMWeights: @unchecked Sendable {
    package let config: MiniLMConfig
    package let panels32: Bool
    package let storage: UnsafeMutablePointer<Float>
    package let count: Int
    /// The mapped file, kept while `wordEmb` points into it.
    private let file: SafeTensors?
    package let wordEmb: UnsafePointer<Float>         // (V, C)
    package let posEmb: UnsafeMutablePointer<Float>   // (P, C)
    package let typeEmb: UnsafeMutablePointer<Float>  // (2, C)
    package let embLnG: UnsafeMutablePointer<Float>   // (C)
    package let embLnB: UnsafeMutablePointer<Float>   // (C)
    package let layers: [MiniLMLayerWeights]

    /// Floats in `storage`: every weight, less the word embeddings when they stay in the file.
    package static func floatCount(_ cf: MiniLMConfig, wordEmbeddingsMapped: Bool = false) -> Int {
        let c = cf.hidden, f = cf.ffn
        let perLayer = 3 * c * c + 3 * c + c * c + c + 2 * c + f * c + f + c * f + c + 2 * c
        return ((wordEmbeddingsMapped ? 0 : cf.vocabSize) + cf.maxPositions + cf.typeVocab) * c + 2 * c + cf.layers * perLayer
    }

    /// With `adapter`, its LoRA deltas and biases/layernorms are merged into each layer before
    /// the panel packing, so every GEMM path runs the fine-tuned weights at unchanged speed.
    package init(file st: SafeTensors, config cf: MiniLMConfig = .allMiniLML6, panels32: Bool = false,
         adapter: EncoderAdapter? = nil) throws {
        let c = cf.hidden, f = cf.ffn
        self.panels32 = panels32
        guard cf.heads * cf.headDim == c, cf.headDim % 16 == 0 else {
            throw ModelError(.invalidInput, "config: heads \(cf.heads) × headDim \(cf.headDim) must equal hidden \(c), headDim a multiple of 16")
        }
        try adapter?.validate(cf)
        config = cf
        let mapped = try st.alignedFloats("embeddings.word_embeddings.weight", shape: [cf.vocabSize, c])
        file = mapped == nil ? nil : st
        count = Self.floatCount(cf, wordEmbeddingsMapped: mapped != nil)
        storage = .allocate(capacity: count)
        var next = storage
        func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { next += n }; return next }
        func load(_ name: String, _ shape: [Int], into p: UnsafeMutablePointer<Float>) throws {
            try st.copyFloats(name, shape: shape, into: p)
        }
        do {
            if let mapped {
                wordEmb = mapped
            } else {
                let copy = take(cf.vocabSize * c)
                try load("embeddings.word_embeddings.weight", [cf.vocabSize, c], into: copy)
                wordEmb = UnsafePointer(copy)
            }
            posEmb = take(cf.maxPositions * c)
            typeEmb = take(cf.typeVocab * c)
            embLnG = take(c)
            embLnB = take(c)
            try load("embeddings.position_embeddings.weight", [cf.maxPositions, c], into: posEmb)
            try load("embeddings.token_type_embeddings.weight", [cf.typeVocab, c], into: typeEmb)
            try load("embeddings.LayerNorm.weight", [c], into: embLnG)
            try load("embeddings.LayerNorm.bias", [c], into: embLnB)
            var layers: [MiniLMLayerWeights] = []
            for l in 0..<cf.layers {
                let p = "encoder.layer.\(l)."
                let w = MiniLMLayerWeights(
                    qkvW: take(3 * c * c), qkvB: take(3 * c),
                    attnOutW: take(c * c), attnOutB: take(c),
                    ln1G: take(c), ln1B: take(c),
                    ffnInW: take(f * c), ffnInB: take(f),
                    ffnOutW: take(c * f), ffnOutB: take(c),
                    ln2G: take(c), ln2B: take(c))
                for (i, qkv) in ["query", "key", "value"].enumerated() {
                    try load(p + "attention.self.\(qkv).weight", [c, c], into: w.qkvW + i * c * c)
                    try load(p + "attention.self.\(qkv).bias", [c], into: w.qkvB + i * c)
                }
                try load(p + "attention.output.dense.weight", [c, c], into: w.attnOutW)
                try load(p + "attention.output.dense.bias", [c], into: w.attnOutB)
                try load(p + "attention.output.LayerNorm.weight", [c], into: w.ln1G)
                try load(p + "attention.output.LayerNorm.bias", [c], into: w.ln1B)
                try load(p + "intermediate.dense.weight", [f, c], into: w.ffnInW)
                try load(p + "intermediate.dense.bias", [f], into: w.ffnInB)
                try load(p + "output.dense.weight", [c, f], into: w.ffnOutW)
                try load(p + "output.dense.bias", [c], into: w.ffnOutB)
                try load(p + "output.LayerNorm.weight", [c], into: w.ln2G)
                try load(p + "output.LayerNorm.bias", [c], into: w.ln2B)
                try adapter?.apply(to: w, layer: l, cf)
                if panels32 {
                    // The largest of the four matrices: the FFN's for MiniLM, the fused QKV when ffn < 3·hidden.
                    let tmp = UnsafeMutablePointer<Float>.allocate(capacity: max(f * c, 3 * c * c))
                    defer { tmp.deallocate() }
                    for (p, n, k) in [(w.qkvW, 3 * c, c), (w.attnOutW, c, c), (w.ffnInW, f, c), (w.ffnOutW, c, f)] {
                        packPanels32(tmp, p, n: n, k: k)
                        p.update(from: tmp, count: n * k)
                    }
                }
                layers.append(w)
            }
            self.layers = layers
            precondition(next == storage + count)
            // What was copied out need not stay resident; the word embeddings page back in by row.
            st.dropResidentPages()
        } catch {
            storage.deallocate()
            throw error
        }
    }

    deinit { storage.deallocate() }
}
