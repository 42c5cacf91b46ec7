import Contracts
import Foundation
import Kernels

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
