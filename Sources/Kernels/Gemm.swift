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

/// out = a · wᵀ + bias [+ residual] with w in `packPanels32` layout, on our own kernel
/// (AVX-512: a 12×32 register tile; AVX2+FMA: 6×16; plain C elsewhere), bias and residual
/// fused into the store. It beats OpenBLAS here by skipping its per-call packing, and each
/// element is an in-order FMA chain over k, so a row's result is bit-identical whatever the
/// other rows of the call (batch-invariant) and whichever of the three kernels runs. Split
/// over `threads` threads by output columns (no spinning workers). Runs on any CPU; fast
/// when `CPUFeatures.packedGemm`.
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
    matmulPacked(out, a, w, bias, residual: residual, m: m, n: n, k: k, threads: threads, isa: .auto)
}

/// The kernels `matmulPacked`, `matmulBF16` and `matmulInt8` can run (tests force each in turn).
enum GemmISA: Int32 {
    case auto = 0        // CK_ISA_AUTO: the best this CPU has
    case portable = 1    // CK_ISA_PORTABLE
    case avx2 = 2        // CK_ISA_AVX2 (fp32)
    case avx512 = 3      // CK_ISA_AVX512 (fp32)
    case avx512bf16 = 4  // CK_ISA_AVX512BF16 (bf16)
    case avx512vnni = 5  // CK_ISA_AVX512VNNI (int8)
    case avxvnni = 6     // CK_ISA_AVXVNNI (int8, 256-bit)

    /// Whether this CPU can run it.
    var isSupported: Bool { ck_isa_supported(rawValue) != 0 }
    /// What `matmulPacked` runs here.
    static var packedGemm: GemmISA { GemmISA(rawValue: ck_f32_gemm_isa())! }
}

/// `matmulPacked` on the given kernel, which this CPU must support.
func matmulPacked(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
    _ bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, m: Int, n: Int, k: Int,
    threads: Int = 1, isa: GemmISA
) {
    precondition(isa.isSupported, "this CPU cannot run the \(isa) GEMM")
    precondition(n % 32 == 0, "N must be a multiple of 32")
    forEachPanelRange(panels: n / 32, threads: threads) { p0, p1 in
        ck_f32_gemm_with(out, a, w, bias, residual, Int32(m), Int32(n), Int32(k), Int32(p0), Int32(p1), isa.rawValue)
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
