import Contracts
import Contracts
import Foundation
import Kernels

// Reverse mode through the MiniLM encoder, for LoRA fine-tuning.
//
// The training forward is the inference forward of `MiniLMEncoder` (same packing without
// padding, same layernorm and GELU kernels, attention per sequence) with every activation of
// the trained layers kept for the backward pass, and mean pooling without the L2 norm at the
// end. The top `trainedLayers` layers are trained: each of their four dense matrices W gets a
// LoRA adapter, W_eff = W + (alpha/r)·B·A, merged once per forward; their biases and layernorm
// gains/biases are trainable too. The embeddings and the layers below are frozen, and the
// backward pass stops at the first trained layer.

/// The four dense matrices of a layer that carry a LoRA adapter.
package enum LoRATarget: Int, CaseIterable, Sendable {
    case qkv, attnOut, ffnIn, ffnOut

    /// (out, in) of the base matrix.
    package func shape(_ cf: MiniLMConfig) -> (out: Int, in: Int) {
        switch self {
        case .qkv: (3 * cf.hidden, cf.hidden)
        case .attnOut: (cf.hidden, cf.hidden)
        case .ffnIn: (cf.ffn, cf.hidden)
        case .ffnOut: (cf.hidden, cf.ffn)
        }
    }

    /// The adapter tensors' name prefix in layer `l`. The query, key and value matrices are fused
    /// into one (3C, C) matrix (their rows stacked in that order), so they share one adapter.
    package func name(layer l: Int) -> String {
        let p = "encoder.layer.\(l)."
        switch self {
        case .qkv: return p + "attention.self.qkv"
        case .attnOut: return p + "attention.output.dense"
        case .ffnIn: return p + "intermediate.dense"
        case .ffnOut: return p + "output.dense"
        }
    }
}

/// The trainable vectors of a layer (biases and layernorm parameters), in block order.
package enum LayerVector: Int, CaseIterable, Sendable {
    case qkvBias, attnOutBias, ln1Gain, ln1Bias, ffnInBias, ffnOutBias, ln2Gain, ln2Bias

    package func count(_ cf: MiniLMConfig) -> Int {
        switch self {
        case .qkvBias: 3 * cf.hidden
        case .ffnInBias: cf.ffn
        default: cf.hidden
        }
    }

    /// The base checkpoint's tensor names for this vector (the fused QKV bias is three tensors).
    package func baseNames(layer l: Int) -> [String] {
        let p = "encoder.layer.\(l)."
        switch self {
        case .qkvBias: return ["query", "key", "value"].map { p + "attention.self.\($0).bias" }
        case .attnOutBias: return [p + "attention.output.dense.bias"]
        case .ln1Gain: return [p + "attention.output.LayerNorm.weight"]
        case .ln1Bias: return [p + "attention.output.LayerNorm.bias"]
        case .ffnInBias: return [p + "intermediate.dense.bias"]
        case .ffnOutBias: return [p + "output.dense.bias"]
        case .ln2Gain: return [p + "output.LayerNorm.weight"]
        case .ln2Bias: return [p + "output.LayerNorm.bias"]
        }
    }

    /// The base weights' pointer for this vector.
    package func pointer(_ w: MiniLMLayerWeights) -> UnsafeMutablePointer<Float> {
        switch self {
        case .qkvBias: w.qkvB
        case .attnOutBias: w.attnOutB
        case .ln1Gain: w.ln1G
        case .ln1Bias: w.ln1B
        case .ffnInBias: w.ffnInB
        case .ffnOutBias: w.ffnOutB
        case .ln2Gain: w.ln2G
        case .ln2Bias: w.ln2B
        }
    }
}

/// Offsets of every trainable tensor in one float block: per trained layer the LoRA A and B of
/// each target, then the layer's vectors; then the linear heads on the pooled vector.
package struct TrainableLayout: Sendable {
    package let config: MiniLMConfig
    package let rank: Int
    /// Layers `firstTrained..<config.layers` are trained.
    package let firstTrained: Int
    /// Outputs of the linear heads (rows of the head matrix).
    package let headOutputs: Int
    /// Per trained layer, per target: offsets of A (r, in) and B (out, r).
    package let loraA: [[Int]], loraB: [[Int]]
    /// Per trained layer, per `LayerVector`: offset.
    package let vectors: [[Int]]
    package let headW: Int      // (headOutputs, C)
    package let headB: Int      // (headOutputs)
    package let count: Int

    package init(config cf: MiniLMConfig, rank: Int, trainedLayers: Int, headOutputs: Int) {
        precondition((0...cf.layers).contains(trainedLayers) && rank >= 0 && headOutputs >= 0)
        config = cf
        self.rank = rank
        firstTrained = cf.layers - trainedLayers
        self.headOutputs = headOutputs
        var next = 0
        var a: [[Int]] = [], b: [[Int]] = [], v: [[Int]] = []
        for _ in 0..<trainedLayers {
            var la: [Int] = [], lb: [Int] = []
            for t in LoRATarget.allCases {
                let (o, i) = t.shape(cf)
                la.append(next); next += rank * i
                lb.append(next); next += o * rank
            }
            var lv: [Int] = []
            for vec in LayerVector.allCases { lv.append(next); next += vec.count(cf) }
            a.append(la); b.append(lb); v.append(lv)
        }
        loraA = a; loraB = b; vectors = v
        headW = next; next += headOutputs * cf.hidden
        headB = next; next += headOutputs
        count = next
    }

    package var trainedLayers: Int { config.layers - firstTrained }

    /// The LoRA matrices' ranges (decayed, trained at the adapter learning rate).
    package var loraRanges: [Range<Int>] {
        (0..<trainedLayers).map { t in
            let first = loraA[t][0]
            return first..<vectors[t][0]
        }
    }

    /// The biases' and layernorms' ranges (not decayed).
    package var vectorRanges: [Range<Int>] {
        (0..<trainedLayers).map { t in vectors[t][0]..<(t + 1 < trainedLayers ? loraA[t + 1][0] : headW) }
    }
}

/// Saved activations of one layer for `N` packed tokens (pointers into one block).
package struct LayerActivations {
    package var qkv: UnsafeMutablePointer<Float>      // (N, 3C)
    package var probs: UnsafeMutablePointer<Float>    // per sequence, per head: (T, T) softmax
    package var ctx: UnsafeMutablePointer<Float>      // (N, C) attention output
    package var y1: UnsafeMutablePointer<Float>       // (N, C) attention-out linear + residual, pre-LN
    package var ln1Mean: UnsafeMutablePointer<Float>  // (N)
    package var ln1Rstd: UnsafeMutablePointer<Float>  // (N)
    package var x1: UnsafeMutablePointer<Float>       // (N, C) LN1 output
    package var h: UnsafeMutablePointer<Float>        // (N, F) FFN-in pre-GELU
    package var g: UnsafeMutablePointer<Float>        // (N, F) GELU(h)
    package var y2: UnsafeMutablePointer<Float>       // (N, C) FFN-out + residual, pre-LN
    package var ln2Mean: UnsafeMutablePointer<Float>  // (N)
    package var ln2Rstd: UnsafeMutablePointer<Float>  // (N)
    package var out: UnsafeMutablePointer<Float>      // (N, C) LN2 output: the layer's output

    package static func floats(tokens n: Int, probs: Int, _ cf: MiniLMConfig) -> Int {
        n * (3 * cf.hidden + 5 * cf.hidden + 2 * cf.ffn + 4) + probs
    }

    package init(_ p: UnsafeMutablePointer<Float>, tokens n: Int, probs probCount: Int, _ cf: MiniLMConfig) {
        let c = cf.hidden, f = cf.ffn
        var next = p
        func take(_ k: Int) -> UnsafeMutablePointer<Float> { defer { next += k }; return next }
        qkv = take(n * 3 * c); probs = take(probCount); ctx = take(n * c); y1 = take(n * c)
        ln1Mean = take(n); ln1Rstd = take(n); x1 = take(n * c); h = take(n * f); g = take(n * f)
        y2 = take(n * c); ln2Mean = take(n); ln2Rstd = take(n); out = take(n * c)
    }
}

// MARK: - Free functions: one layer forward and backward.

/// Multi-head attention over each packed sequence, saving the softmax probabilities.
///
/// - ctx:   (N, C) out
/// - probs: Σ_seq H·T² out, sequence-major, then head, then (T, T)
/// - qkv:   (N, 3C), rows [q | k | v]
package func attentionForward(
    _ ctx: UnsafeMutablePointer<Float>, _ probs: UnsafeMutablePointer<Float>,
    _ qkv: UnsafePointer<Float>, lengths: [Int], heads: Int, headDim d: Int
) {
    let c = heads * d
    let scale = 1 / Float(d).squareRoot()
    var row = 0
    var p = probs
    for t in lengths {
        let base = qkv + row * 3 * c
        for h in 0..<heads {
            let q = base + h * d, k = q + c, v = q + 2 * c
            // p = scale · q kᵀ  (T, T)
            sgemm(p, ldc: t, q, lda: 3 * c, k, ldb: 3 * c, transB: true, m: t, n: t, k: d, alpha: scale)
            softmax(p, p, rows: t, cols: t)
            // ctx_h = p v  (T, D)
            sgemm(ctx + row * c + h * d, ldc: c, p, lda: t, v, ldb: 3 * c, m: t, n: d, k: t)
            p += t * t
        }
        row += t
    }
}

/// Backward of `attentionForward`: dqkv (N, 3C) is overwritten.
///
/// - dqkv:    (N, 3C) out
/// - dctx:    (N, C)
/// - qkv:     (N, 3C) forward input
/// - probs:   as saved by `attentionForward`
/// - scratch: max T² floats
package func attentionBackward(
    _ dqkv: UnsafeMutablePointer<Float>, _ dctx: UnsafePointer<Float>,
    _ qkv: UnsafePointer<Float>, _ probs: UnsafePointer<Float>,
    lengths: [Int], heads: Int, headDim d: Int, scratch dp: UnsafeMutablePointer<Float>
) {
    let c = heads * d
    let scale = 1 / Float(d).squareRoot()
    var row = 0
    var p = probs
    for t in lengths {
        let base = qkv + row * 3 * c, dbase = dqkv + row * 3 * c
        for h in 0..<heads {
            let q = base + h * d, k = q + c, v = q + 2 * c
            let dq = dbase + h * d, dk = dq + c, dv = dq + 2 * c
            let dctxh = dctx + row * c + h * d
            // dp = dctx_h vᵀ  (T, T)
            sgemm(dp, ldc: t, dctxh, lda: c, v, ldb: 3 * c, transB: true, m: t, n: t, k: d)
            // dv = pᵀ dctx_h  (T, D)
            sgemm(dv, ldc: 3 * c, p, lda: t, transA: true, dctxh, ldb: c, m: t, n: d, k: t)
            // ds = scale · p ⊙ (dp − rowsum(p ⊙ dp)): the gradient of q kᵀ
            softmaxBackward(dp, p, dp, rows: t, cols: t, scale: scale)
            // dq = ds k, dk = dsᵀ q  (T, D)
            sgemm(dq, ldc: 3 * c, dp, lda: t, k, ldb: 3 * c, m: t, n: d, k: t)
            sgemm(dk, ldc: 3 * c, dp, lda: t, transA: true, q, ldb: 3 * c, m: t, n: d, k: t)
            p += t * t
        }
        row += t
    }
}

/// One transformer layer forward, keeping its activations in `a`. `a.out` may alias `x`
/// (frozen layers run in place).
///
/// - x: (N, C) the layer's input
package func layerForward(
    _ a: LayerActivations, _ x: UnsafePointer<Float>, _ w: MiniLMLayerWeights,
    lengths: [Int], tokens n: Int, _ cf: MiniLMConfig
) {
    let c = cf.hidden, f = cf.ffn
    matmulTransposed(a.qkv, x, w.qkvW, w.qkvB, m: n, n: 3 * c, k: c)                           // (N, 3C)
    attentionForward(a.ctx, a.probs, a.qkv, lengths: lengths, heads: cf.heads, headDim: cf.headDim) // (N, C)
    matmulTransposedResidual(a.y1, a.ctx, w.attnOutW, w.attnOutB, residual: x, m: n, n: c, k: c)  // (N, C)
    layerNormSavingStatistics(a.x1, mean: a.ln1Mean, rstd: a.ln1Rstd, a.y1, w.ln1G, w.ln1B,
                              rows: n, cols: c, eps: cf.layerNormEps)
    matmulTransposed(a.h, a.x1, w.ffnInW, w.ffnInB, m: n, n: f, k: c)                          // (N, F)
    gelu(a.g, a.h, count: n * f)
    matmulTransposedResidual(a.y2, a.g, w.ffnOutW, w.ffnOutB, residual: a.x1, m: n, n: c, k: f)  // (N, C)
    layerNormSavingStatistics(a.out, mean: a.ln2Mean, rstd: a.ln2Rstd, a.y2, w.ln2G, w.ln2B,
                              rows: n, cols: c, eps: cf.layerNormEps)
}

/// Gradients of a LoRA adapter on y = x W_effᵀ, W_eff = W + s·B·A, accumulated (+=):
/// dB += s · dyᵀ (x Aᵀ), dA += s · (dy B)ᵀ x. Never forms the full dW.
///
/// - dA, a:  (r, in)
/// - dB, b:  (out, r)
/// - x:      (N, in)
/// - dy:     (N, out)
/// - u, v:   (N, r) scratch
package func loraBackward(
    dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>,
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    u: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
    tokens n: Int, out: Int, in inDim: Int, rank r: Int, scale s: Float
) {
    guard r > 0 else { return }
    sgemm(u, ldc: r, x, lda: inDim, a, ldb: inDim, transB: true, m: n, n: r, k: inDim)                 // (N, r)
    sgemm(dB, ldc: r, dy, lda: out, transA: true, u, ldb: r, m: out, n: r, k: n, alpha: s, beta: 1)    // (out, r)
    sgemm(v, ldc: r, dy, lda: out, b, ldb: r, m: n, n: r, k: out)                                       // (N, r)
    sgemm(dA, ldc: inDim, v, lda: r, transA: true, x, ldb: inDim, m: r, n: inDim, k: n, alpha: s, beta: 1) // (r, in)
}

// MARK: - The model.

/// The encoder in training mode: frozen base weights, a block of trainable parameters
/// (LoRA adapters, biases and layernorms of the top layers, linear heads), their gradients,
/// and the saved activations of the last forward pass. Not thread-safe.
package final class MiniLMTrainingModel {
    package let base: MiniLMWeights
    package let cf: MiniLMConfig
    package let layout: TrainableLayout
    package let alpha: Float
    /// alpha / rank.
    package let loraScale: Float
    /// Trainable parameters, `layout.count` floats.
    package let params: UnsafeMutablePointer<Float>
    /// Their gradients, accumulated by `backward` (zero them with `zeroGradients`).
    package let grads: UnsafeMutablePointer<Float>
    /// The merged dense matrices of the trained layers, per trained layer: qkv, attnOut, ffnIn, ffnOut.
    package let merged: UnsafeMutablePointer<Float>
    package let mergedCount: Int

    // Activations: the embedding output, one slot per trained layer and one shared by the frozen layers.
    package var tokenCapacity = 0, probCapacity = 0
    package var block: UnsafeMutablePointer<Float> = .allocate(capacity: 0)
    package var x0: UnsafeMutablePointer<Float> = .allocate(capacity: 0)
    package var slots: [LayerActivations] = []
    package var frozenSlot: LayerActivations?
    // Backward scratch.
    package var scratch: UnsafeMutablePointer<Float> = .allocate(capacity: 0)
    package var lengths: [Int] = []
    package var tokens = 0

    /// Trainable parameters initialised as LoRA starts: A uniform in ±1/√in (PyTorch's
    /// kaiming-uniform with a = √5, as PEFT does), B zero, so the adapter starts as the identity;
    /// biases and layernorms copied from the base; head weights normal(0, 0.02), head biases zero.
    package init(base: MiniLMWeights, rank: Int, alpha: Float, trainedLayers: Int, headOutputs: Int, seed: UInt64) {
        precondition(!base.panels32, "training needs row-major base weights")
        self.base = base
        cf = base.config
        layout = TrainableLayout(config: cf, rank: rank, trainedLayers: trainedLayers, headOutputs: headOutputs)
        self.alpha = alpha
        loraScale = rank > 0 ? alpha / Float(rank) : 0
        params = .allocate(capacity: layout.count)
        grads = .allocate(capacity: layout.count)
        grads.initialize(repeating: 0, count: layout.count)
        let c = cf.hidden, f = cf.ffn
        mergedCount = 3 * c * c + c * c + f * c + c * f
        merged = .allocate(capacity: max(1, trainedLayers * mergedCount))
        var rng = SeededGenerator(seed: seed)
        params.initialize(repeating: 0, count: layout.count)
        for t in 0..<trainedLayers {
            let l = layout.firstTrained + t
            for target in LoRATarget.allCases {
                let (o, i) = target.shape(cf)
                let bound = 1 / Float(i).squareRoot()
                let a = params + layout.loraA[t][target.rawValue]
                for j in 0..<(rank * i) { a[j] = (2 * rng.nextUnit() - 1) * bound }
                (params + layout.loraB[t][target.rawValue]).update(repeating: 0, count: o * rank)
            }
            for v in LayerVector.allCases {
                (params + layout.vectors[t][v.rawValue]).update(from: v.pointer(base.layers[l]), count: v.count(cf))
            }
        }
        for j in 0..<(headOutputs * c) { params[layout.headW + j] = 0.02 * rng.nextGaussian() }
    }

    deinit {
        params.deallocate(); grads.deallocate(); merged.deallocate()
        block.deallocate(); x0.deallocate(); scratch.deallocate()
    }

    package func zeroGradients() { grads.update(repeating: 0, count: layout.count) }

    /// The dense matrix of `target` in trained layer `t` (0 = the first trained), merged.
    package func mergedMatrix(_ t: Int, _ target: LoRATarget) -> UnsafeMutablePointer<Float> {
        let c = cf.hidden, f = cf.ffn
        let offsets = [0, 3 * c * c, 4 * c * c, 4 * c * c + f * c]
        return merged + t * mergedCount + offsets[target.rawValue]
    }

    /// The base weights' dense matrix.
    package func baseMatrix(_ l: Int, _ target: LoRATarget) -> UnsafeMutablePointer<Float> {
        let w = base.layers[l]
        switch target {
        case .qkv: return w.qkvW
        case .attnOut: return w.attnOutW
        case .ffnIn: return w.ffnInW
        case .ffnOut: return w.ffnOutW
        }
    }

    /// W_eff = W + s·B·A for every adapter.
    package func mergeAdapters() {
        let r = layout.rank
        for t in 0..<layout.trainedLayers {
            let l = layout.firstTrained + t
            for target in LoRATarget.allCases {
                let (o, i) = target.shape(cf)
                let m = mergedMatrix(t, target)
                m.update(from: baseMatrix(l, target), count: o * i)
                sgemm(m, ldc: i, params + layout.loraB[t][target.rawValue], lda: r,
                      params + layout.loraA[t][target.rawValue], ldb: i, m: o, n: i, k: r, alpha: loraScale, beta: 1)
            }
        }
    }

    /// The weights trained layer `t` runs with: merged matrices, trainable vectors.
    package func trainedWeights(_ t: Int) -> MiniLMLayerWeights {
        func v(_ k: LayerVector) -> UnsafeMutablePointer<Float> { params + layout.vectors[t][k.rawValue] }
        return MiniLMLayerWeights(
            qkvW: mergedMatrix(t, .qkv), qkvB: v(.qkvBias), attnOutW: mergedMatrix(t, .attnOut), attnOutB: v(.attnOutBias),
            ln1G: v(.ln1Gain), ln1B: v(.ln1Bias), ffnInW: mergedMatrix(t, .ffnIn), ffnInB: v(.ffnInBias),
            ffnOutW: mergedMatrix(t, .ffnOut), ffnOutB: v(.ffnOutBias), ln2G: v(.ln2Gain), ln2B: v(.ln2Bias))
    }

    package func reserve(tokens n: Int, probs: Int) {
        guard n > tokenCapacity || probs > probCapacity else { return }
        let nc = max(n, tokenCapacity + tokenCapacity / 2), pc = max(probs, probCapacity + probCapacity / 2)
        let c = cf.hidden, f = cf.ffn, r = layout.rank
        let slotFloats = LayerActivations.floats(tokens: nc, probs: pc, cf)
        let slotCount = layout.trainedLayers + (layout.firstTrained > 0 ? 1 : 0)
        block.deallocate(); x0.deallocate(); scratch.deallocate()
        block = .allocate(capacity: slotCount * slotFloats)
        x0 = .allocate(capacity: nc * c)
        let maxT = min(nc, cf.maxPositions)
        scratch = .allocate(capacity: nc * (3 * c + 4 * c + f + 2 * r) + maxT * maxT)
        slots = (0..<layout.trainedLayers).map { LayerActivations(block + $0 * slotFloats, tokens: nc, probs: pc, cf) }
        frozenSlot = layout.firstTrained > 0
            ? LayerActivations(block + layout.trainedLayers * slotFloats, tokens: nc, probs: pc, cf) : nil
        tokenCapacity = nc
        probCapacity = pc
    }

    /// The output of the last layer after `forward`: (N, C).
    package var lastHidden: UnsafeMutablePointer<Float> {
        slots.last?.out ?? frozenSlot?.out ?? x0
    }

    /// Training forward over `batch` (token ids checked by the caller): writes each sequence's
    /// mean-pooled last hidden state into `pooled`, (B, C), without L2 normalisation, and keeps
    /// the activations for `backward`.
    /// `merge: false` skips re-merging the adapters (parameters unchanged since the last merge).
    package func forward(_ batch: [[Int32]], pooled: UnsafeMutablePointer<Float>, merge: Bool = true) {
        let c = cf.hidden
        lengths = batch.map(\.count)
        tokens = lengths.reduce(0, +)
        let n = tokens
        reserve(tokens: n, probs: cf.heads * lengths.reduce(0) { $0 + $1 * $1 })
        if merge { mergeAdapters() }

        // Embeddings (frozen): word + position + token type 0, then layernorm.   (N, C)
        var row = 0
        for ids in batch {
            for (pos, id) in ids.enumerated() {
                let xr = x0 + (row + pos) * c
                add(xr, base.wordEmb + Int(id) * c, base.posEmb + pos * c, count: c)
                add(xr, xr, base.typeEmb, count: c)
            }
            row += ids.count
        }
        layerNorm(x0, x0, base.embLnG, base.embLnB, rows: n, cols: c, eps: cf.layerNormEps)

        var x = UnsafePointer(x0)
        for l in 0..<cf.layers {
            if l < layout.firstTrained {
                let a = frozenSlot!
                layerForward(a, x, base.layers[l], lengths: lengths, tokens: n, cf)
                x = UnsafePointer(a.out)
            } else {
                let t = l - layout.firstTrained
                layerForward(slots[t], x, trainedWeights(t), lengths: lengths, tokens: n, cf)
                x = UnsafePointer(slots[t].out)
            }
        }

        // Mean pooling.   (B, C)
        row = 0
        for (b, t) in lengths.enumerated() {
            let o = pooled + b * c
            o.update(repeating: 0, count: c)
            for i in 0..<t { add(o, o, x + (row + i) * c, count: c) }
            let inv = 1 / Float(t)
            for i in 0..<c { o[i] *= inv }
            row += t
        }
    }

    /// Backward from ∂L/∂pooled, (B, C), through the trained layers of the last `forward`;
    /// accumulates into `grads`. Stops at the first trained layer's input.
    package func backward(dPooled: UnsafePointer<Float>) {
        guard layout.trainedLayers > 0 else { return }
        let c = cf.hidden, f = cf.ffn, r = layout.rank, n = tokens
        var next = scratch
        func take(_ k: Int) -> UnsafeMutablePointer<Float> { defer { next += k }; return next }
        let dx = take(n * c), dy = take(n * c), dx1 = take(n * c), dctx = take(n * c)
        let dqkv = take(n * 3 * c), dff = take(n * f), u = take(n * r), v = take(n * r)
        let dp = next

        // Mean pooling: every token of sequence b gets dPooled[b] / T_b.   (N, C)
        var row = 0
        for (b, t) in lengths.enumerated() {
            let inv = 1 / Float(t)
            for i in 0..<t {
                let o = dx + (row + i) * c, g = dPooled + b * c
                for j in 0..<c { o[j] = g[j] * inv }
            }
            row += t
        }

        for t in stride(from: layout.trainedLayers - 1, through: 0, by: -1) {
            let a = slots[t], w = trainedWeights(t)
            let xIn: UnsafePointer<Float> = t > 0 ? UnsafePointer(slots[t - 1].out)
                : UnsafePointer(frozenSlot?.out ?? x0)
            func g(_ k: LayerVector) -> UnsafeMutablePointer<Float> { grads + layout.vectors[t][k.rawValue] }
            func lora(_ target: LoRATarget, _ x: UnsafePointer<Float>, _ dyT: UnsafePointer<Float>) {
                let (o, i) = target.shape(cf)
                loraBackward(dA: grads + layout.loraA[t][target.rawValue], dB: grads + layout.loraB[t][target.rawValue],
                             x, dyT, a: params + layout.loraA[t][target.rawValue], b: params + layout.loraB[t][target.rawValue],
                             u: u, v: v, tokens: n, out: o, in: i, rank: r, scale: loraScale)
            }
            // LN2: dy = ∂L/∂y2   (N, C)
            layerNormBackward(dy, dgamma: g(.ln2Gain), dbeta: g(.ln2Bias), dx, a.y2,
                              mean: a.ln2Mean, rstd: a.ln2Rstd, w.ln2G, rows: n, cols: c)
            // y2 = g·W_outᵀ + b_out + x1
            addColumnSums(g(.ffnOutBias), dy, rows: n, cols: c)
            lora(.ffnOut, a.g, dy)
            sgemm(dff, ldc: f, dy, lda: c, w.ffnOutW, ldb: f, m: n, n: f, k: c)                 // (N, F)
            geluBackward(dff, dff, a.h, count: n * f)
            // h = x1·W_inᵀ + b_in
            addColumnSums(g(.ffnInBias), dff, rows: n, cols: f)
            lora(.ffnIn, a.x1, dff)
            dx1.update(from: dy, count: n * c)                                                    // residual
            sgemm(dx1, ldc: c, dff, lda: f, w.ffnInW, ldb: c, m: n, n: c, k: f, beta: 1)         // (N, C)
            // LN1: dy = ∂L/∂y1
            layerNormBackward(dy, dgamma: g(.ln1Gain), dbeta: g(.ln1Bias), dx1, a.y1,
                              mean: a.ln1Mean, rstd: a.ln1Rstd, w.ln1G, rows: n, cols: c)
            // y1 = ctx·W_aoᵀ + b_ao + xIn
            addColumnSums(g(.attnOutBias), dy, rows: n, cols: c)
            lora(.attnOut, a.ctx, dy)
            sgemm(dctx, ldc: c, dy, lda: c, w.attnOutW, ldb: c, m: n, n: c, k: c)               // (N, C)
            attentionBackward(dqkv, dctx, a.qkv, a.probs, lengths: lengths, heads: cf.heads, headDim: cf.headDim, scratch: dp)
            // qkv = xIn·W_qkvᵀ + b_qkv
            addColumnSums(g(.qkvBias), dqkv, rows: n, cols: 3 * c)
            lora(.qkv, xIn, dqkv)
            if t > 0 {
                dx.update(from: dy, count: n * c)                                                 // residual
                sgemm(dx, ldc: c, dqkv, lda: 3 * c, w.qkvW, ldb: c, m: n, n: c, k: 3 * c, beta: 1)
            }
        }
    }
}
