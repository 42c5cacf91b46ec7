import COpenBLAS

// Kernels for training: a general GEMM, and the forward-with-statistics and backward passes
// of layernorm, GELU and softmax. Shapes are row-major; gradients are named d<x>.

/// c = alpha · op(a) · op(b) + beta · c, row-major single-precision GEMM (OpenBLAS), where
/// op(a) is a or aᵀ.
///
/// - a:   op(a) is (M, K); stored (M, K) with row stride `lda`, or (K, M) when `transA`
/// - b:   op(b) is (K, N); stored (K, N) with row stride `ldb`, or (N, K) when `transB`
/// - c:   (M, N), row stride `ldc`
public func sgemm(
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    _ a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
    _ b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
    m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // OpenBLAS returns early with k = 0 without scaling c by beta.
        for i in 0..<m {
            let r = c + i * ldc
            if beta == 0 { r.update(repeating: 0, count: n) } else { for j in 0..<n { r[j] *= beta } }
        }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// `layerNorm` that also saves each row's mean and 1/√(var + eps) for `layerNormBackward`.
/// Same arithmetic as `layerNorm`, so the outputs are identical.
///
/// - out:   (T, C), may be the same memory as x
/// - mean:  (T)
/// - rstd:  (T)
/// - x:     (T, C)
/// - gamma: (C)
/// - beta:  (C)
public func layerNormSavingStatistics(
    _ out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    _ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>,
    rows: Int, cols: Int, eps: Float
) {
    let vec = cols & ~15
    for t in 0..<rows {
        let xr = x + t * cols
        let or = out + t * cols
        var acc = SIMD16<Float>()
        var c = 0
        while c < vec { acc += load16(xr + c); c += 16 }
        var sum = acc.sum()
        while c < cols { sum += xr[c]; c += 1 }
        let mu = sum / Float(cols)

        var acc2 = SIMD16<Float>()
        c = 0
        while c < vec { let d = load16(xr + c) - mu; acc2 += d * d; c += 16 }
        var sq = acc2.sum()
        while c < cols { let d = xr[c] - mu; sq += d * d; c += 1 }
        let rs = 1 / (sq / Float(cols) + eps).squareRoot()
        mean[t] = mu
        rstd[t] = rs

        c = 0
        while c < vec {
            store16(or + c, (load16(xr + c) - mu) * rs * load16(gamma + c) + load16(beta + c))
            c += 16
        }
        while c < cols { or[c] = (xr[c] - mu) * rs * gamma[c] + beta[c]; c += 1 }
    }
}

/// Backward of layernorm: dx = ∂L/∂x (overwritten), dgamma and dbeta accumulated (+=).
/// With x̂ = (x − mean)·rstd and g = dout ⊙ gamma: dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)).
///
/// - dx:     (T, C), may be the same memory as dout
/// - dgamma: (C) or nil (not wanted)
/// - dbeta:  (C) or nil
/// - dout:   (T, C)
/// - x:      (T, C), the forward input
/// - mean, rstd: (T), saved by `layerNormSavingStatistics`
/// - gamma:  (C)
public func layerNormBackward(
    _ dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
    _ dout: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>,
    rows: Int, cols: Int
) {
    let vec = cols & ~15
    let invC = 1 / Float(cols)
    for t in 0..<rows {
        let xr = x + t * cols, dor = dout + t * cols, dxr = dx + t * cols
        let mu = mean[t], rs = rstd[t]
        var sg = SIMD16<Float>(), sgx = SIMD16<Float>()
        var c = 0
        while c < vec {
            let xh = (load16(xr + c) - mu) * rs
            let g = load16(dor + c) * load16(gamma + c)
            sg += g; sgx += g * xh
            c += 16
        }
        var sumG = sg.sum(), sumGX = sgx.sum()
        while c < cols {
            let xh = (xr[c] - mu) * rs, g = dor[c] * gamma[c]
            sumG += g; sumGX += g * xh
            c += 1
        }
        let mg = sumG * invC, mgx = sumGX * invC
        c = 0
        while c < vec {
            let xh = (load16(xr + c) - mu) * rs
            let d = load16(dor + c)
            if let dgamma { store16(dgamma + c, load16(dgamma + c) + d * xh) }
            if let dbeta { store16(dbeta + c, load16(dbeta + c) + d) }
            store16(dxr + c, rs * (d * load16(gamma + c) - mg - xh * mgx))
            c += 16
        }
        while c < cols {
            let xh = (xr[c] - mu) * rs, d = dor[c]
            dgamma?[c] += d * xh
            dbeta?[c] += d
            dxr[c] = rs * (d * gamma[c] - mg - xh * mgx)
            c += 1
        }
    }
}

/// Backward of `gelu` (exact, erf form): dx = dout · (Φ(x) + x · φ(x)), with Φ the same
/// approximation the forward uses and φ the normal density.
///
/// - dx:   (N), may be the same memory as dout
/// - dout: (N)
/// - x:    (N), the forward input
public func geluBackward(_ dx: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    let invSqrt2Pi: Float = 0.398_942_28
    @inline(__always) func grad(_ v: SIMD16<Float>) -> SIMD16<Float> {
        var h = v * v * -0.5
        h.replace(with: -87, where: h .< -87)
        return normalCDF16(v) + v * invSqrt2Pi * exp16(h)
    }
    let vec = count & ~15
    var i = 0
    while i < vec {
        store16(dx + i, load16(dout + i) * grad(load16(x + i)))
        i += 16
    }
    while i < count {
        dx[i] = dout[i] * grad(SIMD16<Float>(repeating: x[i]))[0]
        i += 1
    }
}

/// Backward of a row softmax: dx = p ⊙ (dp − Σ_j p_j dp_j) per row, times `scale`.
///
/// - dx: (R, C), may be the same memory as dp
/// - p:  (R, C), the softmax output
/// - dp: (R, C)
public func softmaxBackward(
    _ dx: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ dp: UnsafePointer<Float>,
    rows: Int, cols: Int, scale: Float = 1
) {
    let vec = cols & ~15
    for r in 0..<rows {
        let pr = p + r * cols, dpr = dp + r * cols, dxr = dx + r * cols
        var acc = SIMD16<Float>()
        var c = 0
        while c < vec { acc += load16(pr + c) * load16(dpr + c); c += 16 }
        var dot = acc.sum()
        while c < cols { dot += pr[c] * dpr[c]; c += 1 }
        c = 0
        while c < vec { store16(dxr + c, scale * load16(pr + c) * (load16(dpr + c) - dot)); c += 16 }
        while c < cols { dxr[c] = scale * pr[c] * (dpr[c] - dot); c += 1 }
    }
}

/// out[c] += Σ_t x[t, c]: the gradient of a bias from the gradient of its layer's output.
///
/// - out: (C)
/// - x:   (T, C)
public func addColumnSums(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
    let vec = cols & ~15
    for t in 0..<rows {
        let xr = x + t * cols
        var c = 0
        while c < vec { store16(out + c, load16(out + c) + load16(xr + c)); c += 16 }
        while c < cols { out[c] += xr[c]; c += 1 }
    }
}
