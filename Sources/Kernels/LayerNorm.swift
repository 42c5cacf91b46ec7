/// Layer normalisation over each row: out = (x − mean) / √(var + eps) · gamma + beta.
///
/// - out:   (T, C), may be the same memory as x
/// - x:     (T, C)
/// - gamma: (C)
/// - beta:  (C)
public func layerNorm(
    _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
    _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>,
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
        let mean = sum / Float(cols)

        var acc2 = SIMD16<Float>()
        c = 0
        while c < vec { let d = load16(xr + c) - mean; acc2 += d * d; c += 16 }
        var sq = acc2.sum()
        while c < cols { let d = xr[c] - mean; sq += d * d; c += 1 }
        let rstd = 1 / (sq / Float(cols) + eps).squareRoot()

        c = 0
        while c < vec {
            store16(or + c, (load16(xr + c) - mean) * rstd * load16(gamma + c) + load16(beta + c))
            c += 16
        }
        while c < cols { or[c] = (xr[c] - mean) * rstd * gamma[c] + beta[c]; c += 1 }
    }
}
