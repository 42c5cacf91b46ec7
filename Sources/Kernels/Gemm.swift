import CKernels
import COpenBLAS
import Dispatch

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

/// Rearranges linear weights (N, K) into panels of 32 output columns for `matmulPacked`:
/// out[(p·K + k)·32 + c] = w[p·32 + c, k]. N must be a multiple of 32.
public func packPanels32(_ out: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, n: Int, k: Int) {
    precondition(n % 32 == 0, "N must be a multiple of 32")
    ck_f32_pack_weights(out, w, Int32(n), Int32(k))
}

/// out = a · wᵀ + bias [+ residual] with w in `packPanels32` layout: an AVX-512 FMA kernel
/// (12×32 register tile, bias and residual fused into the store) that beats OpenBLAS here
/// by skipping its per-call packing. Split over `threads` threads by output columns (no
/// spinning workers). Only call when `CPUFeatures.avx512`.
///
/// - a:        (M, K)
/// - w:        (N, K) packed
/// - bias:     (N)
/// - residual: (M, N) or nil; may not alias out
/// - out:      (M, N)
public func matmulPacked(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
    _ bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, m: Int, n: Int, k: Int,
    threads: Int = 1
) {
    precondition(CPUFeatures.avx512, "this CPU has no AVX-512")
    forEachPanelRange(panels: n / 32, threads: threads) { p0, p1 in
        ck_f32_gemm(out, a, w, bias, residual, Int32(m), Int32(n), Int32(k), Int32(p0), Int32(p1))
    }
}

/// Splits `panels` into `threads` contiguous ranges and runs them concurrently (GCD), or
/// inline for one thread.
func forEachPanelRange(panels: Int, threads: Int, _ body: (Int, Int) -> Void) {
    let t = max(1, min(threads, panels))
    if t == 1 { body(0, panels); return }
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: t) { i in
            body(panels * i / t, panels * (i + 1) / t)
        }
    }
}
