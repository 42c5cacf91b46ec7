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

    /// (K) 1 / the input channels' smoothing factors, which `matmulInt8` multiplies the input by
    /// before quantising it; nil without smoothing.
    let inverseSmoothing: [Float]?

    /// Quantises and packs `w` (N, K), row-major, or in `packPanels32` layout when `panels32`.
    /// With `smoothing` (K positive factors s), the matrix quantised is W·diag(s) and each input
    /// row is divided by s first (SmoothQuant: an input channel's outliers moved into the
    /// weights, where per-channel scales absorb them); the product is the same in exact arithmetic.
    public init(_ w: UnsafePointer<Float>, n: Int, k: Int, panels32: Bool = false, smoothing: [Float]? = nil) {
        precondition(n % 32 == 0 && k % 4 == 0, "the int8 GEMM needs N a multiple of 32 and K of 4")
        precondition(smoothing.map { $0.count == k && $0.allSatisfy { $0 > 0 && $0.isFinite } } ?? true, "smoothing needs K positive factors")
        self.n = n
        self.k = k
        data = .allocate(capacity: ck_i8_packed_count(Int32(n), Int32(k)))
        scales = .allocate(capacity: n)
        colsums = .allocate(capacity: n)
        inverseSmoothing = smoothing?.map { 1 / $0 }
        if let smoothing {
            let scaled = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
            defer { scaled.deallocate() }
            for i in 0..<(n * k) { scaled[i] = w[i] * smoothing[Self.inputChannel(i, k: k, panels32: panels32)] }
            ck_i8_pack_weights(data, scales, colsums, scaled, Int32(n), Int32(k), panels32 ? 1 : 0)
        } else {
            ck_i8_pack_weights(data, scales, colsums, w, Int32(n), Int32(k), panels32 ? 1 : 0)
        }
    }

    deinit { data.deallocate(); scales.deallocate(); colsums.deallocate() }

    /// max |W[·, j]| for each input channel j of `w` (N, K), row-major or in `packPanels32`
    /// layout: the weights' side of SmoothQuant's factors.
    public static func inputChannelMaxima(_ w: UnsafePointer<Float>, n: Int, k: Int, panels32: Bool) -> [Float] {
        var maxima = [Float](repeating: 0, count: k)
        for i in 0..<(n * k) {
            let j = inputChannel(i, k: k, panels32: panels32)
            maxima[j] = max(maxima[j], abs(w[i]))
        }
        return maxima
    }

    /// The input channel of element `i`: W[c][j] with j = i mod K row-major, (i / 32) mod K in panels.
    static func inputChannel(_ i: Int, k: Int, panels32: Bool) -> Int { panels32 ? (i / 32) % k : i % k }
}

/// Scratch for `matmulInt8` on inputs of up to (M, K): the smoothed input, the quantised rows,
/// their scales and zero points.
public final class Int8Scratch {
    let rows: Int, k: Int
    let smoothed: UnsafeMutablePointer<Float>
    let aq: UnsafeMutablePointer<UInt8>
    let scales: UnsafeMutablePointer<Float>
    let zeroPoints: UnsafeMutablePointer<Int32>

    public init(m: Int, k: Int) {
        rows = m; self.k = k
        smoothed = .allocate(capacity: max(1, m * k))
        aq = .allocate(capacity: max(1, ck_u8_scratch_count(Int32(m), Int32(k))))
        scales = .allocate(capacity: max(1, m))
        zeroPoints = .allocate(capacity: max(1, m))
    }

    deinit { smoothed.deallocate(); aq.deallocate(); scales.deallocate(); zeroPoints.deallocate() }
}

/// out = dequantised(quantised a · quantised wᵀ) + bias [+ residual]: each row of a quantised to
/// unsigned 8 bits with its own scale and zero point, int32 accumulation (`vpdpbusd` on
/// AVX512-VNNI and AVX-VNNI; AVX2 and plain C give the same bits), split over `threads` threads by output columns.
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

/// `matmulInt8` on the given kernel (`.auto`, `.portable`, `.avx2`, `.avxvnni` or `.avx512vnni`, supported here).
func matmulInt8(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ w: PackedInt8Matrix,
    _ bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, m: Int,
    scratch: Int8Scratch, threads: Int = 1, isa: GemmISA
) {
    precondition(isa.isSupported && [.auto, .portable, .avx2, .avxvnni, .avx512vnni].contains(isa), "this CPU cannot run the \(isa) int8 GEMM")
    precondition(m <= scratch.rows && w.k <= scratch.k, "int8 scratch too small")
    var input = a
    if let inverse = w.inverseSmoothing {
        inverse.withUnsafeBufferPointer { s in
            for r in 0..<m { mul(scratch.smoothed + r * w.k, a + r * w.k, s.baseAddress!, count: w.k) }
        }
        input = UnsafePointer(scratch.smoothed)
    }
    ck_u8_quantize_with(scratch.aq, scratch.scales, scratch.zeroPoints, input, Int32(m), Int32(w.k), isa.rawValue)
    let (n, k) = (w.n, w.k)
    let (aq, scales, zps, data, wscales, colsums) = (scratch.aq, scratch.scales, scratch.zeroPoints, w.data, w.scales, w.colsums)
    forEachPanelRange(panels: n / 32, threads: threads) { p0, p1 in
        ck_i8_gemm_with(out, aq, scales, zps, data, wscales, colsums, bias, residual, Int32(m), Int32(n), Int32(k), Int32(p0), Int32(p1), isa.rawValue)
    }
}
