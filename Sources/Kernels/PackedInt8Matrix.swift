import CKernels

/// A linear layer's weights (N, K), [out, in], quantised once to symmetric int8 per output
/// channel (scale = max |row| / 127) and packed for `matmulInt8`. N must be a multiple of 32
/// and K of 4.
public final class PackedInt8Matrix: @unchecked Sendable {
    public let n: Int
    public let k: Int
    let data: UnsafeMutablePointer<Int8>
    /// (N) the channels' scales and the sums of their quantised weights (for the zero point).
    let scales: UnsafeMutablePointer<Float>
    let colsums: UnsafeMutablePointer<Int32>

    /// Quantises and packs `w` (N, K), row-major, or in `packPanels32` layout when `panels32`.
    public init(_ w: UnsafePointer<Float>, n: Int, k: Int, panels32: Bool = false) {
        precondition(n % 32 == 0 && k % 4 == 0, "the int8 GEMM needs N a multiple of 32 and K of 4")
        self.n = n
        self.k = k
        data = .allocate(capacity: ck_i8_packed_count(Int32(n), Int32(k)))
        scales = .allocate(capacity: n)
        colsums = .allocate(capacity: n)
        ck_i8_pack_weights(data, scales, colsums, w, Int32(n), Int32(k), panels32 ? 1 : 0)
    }

    deinit { data.deallocate(); scales.deallocate(); colsums.deallocate() }
}

/// Scratch for `matmulInt8` on inputs of up to (M, K): the quantised rows, their scales and zero points.
public final class Int8Scratch {
    let rows: Int, k: Int
    let aq: UnsafeMutablePointer<UInt8>
    let scales: UnsafeMutablePointer<Float>
    let zeroPoints: UnsafeMutablePointer<Int32>

    public init(m: Int, k: Int) {
        rows = m; self.k = k
        aq = .allocate(capacity: max(1, ck_u8_scratch_count(Int32(m), Int32(k))))
        scales = .allocate(capacity: max(1, m))
        zeroPoints = .allocate(capacity: max(1, m))
    }

    deinit { aq.deallocate(); scales.deallocate(); zeroPoints.deallocate() }
}

/// out = dequantised(quantised a · quantised wᵀ) + bias [+ residual]: each row of a quantised to
/// unsigned 8 bits with its own scale and zero point, int32 accumulation (`vpdpbusd` on
/// AVX512-VNNI; AVX2 and plain C give the same bits), split over `threads` threads by output columns.
///
/// - a:        (M, K)
/// - w:        packed (N, K)
/// - bias:     (N)
/// - residual: (M, N) or nil; may not alias out
/// - out:      (M, N)
/// - scratch:  for at least (M, K)
public func matmulInt8(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: PackedInt8Matrix,
    _ bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, m: Int,
    scratch: Int8Scratch, threads: Int = 1
) {
    matmulInt8(out, a, w, bias, residual: residual, m: m, scratch: scratch, threads: threads, isa: .auto)
}

/// `matmulInt8` on the given kernel (`.auto`, `.portable`, `.avx2` or `.avx512vnni`, supported here).
func matmulInt8(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: PackedInt8Matrix,
    _ bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, m: Int,
    scratch: Int8Scratch, threads: Int = 1, isa: GemmISA
) {
    precondition(isa.isSupported && [.auto, .portable, .avx2, .avx512vnni].contains(isa), "this CPU cannot run the \(isa) int8 GEMM")
    precondition(m <= scratch.rows && w.k <= scratch.k, "int8 scratch too small")
    ck_u8_quantize_with(scratch.aq, scratch.scales, scratch.zeroPoints, a, Int32(m), Int32(w.k), isa.rawValue)
    let (n, k) = (w.n, w.k)
    let (aq, scales, zps, data, wscales, colsums) = (scratch.aq, scratch.scales, scratch.zeroPoints, w.data, w.scales, w.colsums)
    forEachPanelRange(panels: n / 32, threads: threads) { p0, p1 in
        ck_i8_gemm_with(out, aq, scales, zps, data, wscales, colsums, bias, residual, Int32(m), Int32(n), Int32(k), Int32(p0), Int32(p1), isa.rawValue)
    }
}
