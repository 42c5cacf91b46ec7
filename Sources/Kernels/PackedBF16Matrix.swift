import CKernels

/// A linear layer's weights (N, K), [out, in], rounded to bf16 and packed once for
/// `matmulBF16`. N and K must be multiples of 32.
public final class PackedBF16Matrix: @unchecked Sendable {
    public let n: Int
    public let k: Int
    let data: UnsafeMutablePointer<UInt16>

    /// Packs `w` (N, K).
    public init(_ w: UnsafePointer<Float>, n: Int, k: Int) {
        precondition(n % 32 == 0 && k % 32 == 0, "bf16 GEMM needs N and K multiples of 32")
        self.n = n
        self.k = k
        data = .allocate(capacity: ck_bf16_packed_count(Int32(n), Int32(k)))
        ck_bf16_pack_weights(data, w, Int32(n), Int32(k))
    }

    /// Packs weights already in `packPanels32` layout.
    public init(panels32 w: UnsafePointer<Float>, n: Int, k: Int) {
        precondition(n % 32 == 0 && k % 32 == 0, "bf16 GEMM needs N and K multiples of 32")
        self.n = n
        self.k = k
        data = .allocate(capacity: ck_bf16_packed_count(Int32(n), Int32(k)))
        ck_bf16_pack_from_f32_panels(data, w, Int32(n), Int32(k))
    }

    deinit { data.deallocate() }
}

/// UInt16 elements of scratch `matmulBF16` needs for an (M, K) input.
public func bf16ScratchCount(m: Int, k: Int) -> Int {
    ck_bf16_scratch_count(Int32(m), Int32(k))
}

/// out = a · wᵀ + bias [+ residual], with a and w rounded to bf16 and fp32 accumulation
/// (AVX512-BF16 `vdpbf16ps`; on other CPUs AVX2+FMA or plain C with the same rounding and
/// order, no faster than fp32: `--precision auto` picks bf16 only when `CPUFeatures.avx512bf16`),
/// split over `threads` threads by output columns.
///
/// - a:        (M, K)
/// - w:        packed (N, K)
/// - bias:     (N)
/// - residual: (M, N) or nil; may not alias out
/// - out:      (M, N)
/// - scratch:  bf16ScratchCount(m: M, k: K) elements
public func matmulBF16(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: PackedBF16Matrix,
    _ bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, m: Int,
    scratch: UnsafeMutablePointer<UInt16>, threads: Int = 1
) {
    matmulBF16(out, a, w, bias, residual: residual, m: m, scratch: scratch, threads: threads, isa: .auto)
}

/// `matmulBF16` on the given kernel (`.auto`, `.portable`, `.avx2` or `.avx512bf16`, supported here).
func matmulBF16(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: PackedBF16Matrix,
    _ bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, m: Int,
    scratch: UnsafeMutablePointer<UInt16>, threads: Int = 1, isa: GemmISA
) {
    precondition(isa.isSupported && [.auto, .portable, .avx2, .avx512bf16].contains(isa), "this CPU cannot run the \(isa) bf16 GEMM")
    ck_bf16_convert_with(scratch, a, Int32(m), Int32(w.k), isa.rawValue)
    let data = w.data, (n, k) = (w.n, w.k)
    forEachPanelRange(panels: n / 32, threads: threads) { p0, p1 in
        ck_bf16_gemm_with(out, scratch, data, bias, residual, Int32(m), Int32(n), Int32(k), Int32(p0), Int32(p1), isa.rawValue)
    }
}
