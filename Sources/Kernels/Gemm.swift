import COpenBLAS

/// Sets the number of threads OpenBLAS uses for every later GEMM in this process.
public func setBLASThreads(_ n: Int) {
    openblas_set_num_threads(Int32(max(1, n)))
}

/// out = a · wᵀ + bias, row-major.
///
/// - a:    (M, K)
/// - w:    (N, K)  (linear weights stored [out, in])
/// - bias: (N) or nil
/// - out:  (M, N)
public func matmulTransposed(
    _ out: UnsafeMutablePointer<Float>,
    _ a: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
    m: Int, n: Int, k: Int
) {
    var beta: Float = 0
    if let bias {
        for row in 0..<m { (out + row * n).update(from: bias, count: n) }
        beta = 1
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                1, a, Int32(k), w, Int32(k), beta, out, Int32(n))
}

/// out = residual + a · wᵀ + bias, row-major (a linear layer with its residual connection).
///
/// - a:        (M, K)
/// - w:        (N, K)
/// - bias:     (N)
/// - residual: (M, N), may not alias out
/// - out:      (M, N)
public func matmulTransposedResidual(
    _ out: UnsafeMutablePointer<Float>,
    _ a: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
    residual: UnsafePointer<Float>,
    m: Int, n: Int, k: Int
) {
    addBias(out, residual, bias, rows: m, cols: n)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                1, a, Int32(k), w, Int32(k), 1, out, Int32(n))
}
