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
