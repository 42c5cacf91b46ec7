import Foundation
import Testing
@testable import Kernels
import CKernels

/// Deterministic xorshift generator so failures reproduce.
struct XorShift: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
}

func randomFloats(_ n: Int, _ range: ClosedRange<Float> = -3...3, seed: UInt64) -> [Float] {
    var g = XorShift(seed: seed)
    return (0..<n).map { _ in Float.random(in: range, using: &g) }
}

func maxAbsDiff(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
}

@Suite struct KernelsTests {
    // Odd column counts exercise the scalar tails.
    @Test(arguments: [(7, 384), (3, 1536), (5, 37), (2, 5)])
    func layerNormMatchesScalar(rows: Int, cols: Int) {
        let x = randomFloats(rows * cols, seed: 1).enumerated().map { $0.element + Float($0.offset % 3) }
        let g = randomFloats(cols, 0.5...1.5, seed: 2), b = randomFloats(cols, seed: 3)
        var out = [Float](repeating: 0, count: rows * cols)
        layerNorm(&out, x, g, b, rows: rows, cols: cols, eps: 1e-12)
        var ref = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let mean = row.reduce(0, +) / Double(cols)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for c in 0..<cols { ref[r * cols + c] = (row[c] - mean) / (v + 1e-12).squareRoot() * Double(g[c]) + Double(b[c]) }
        }
        #expect(maxAbsDiff(out, ref) < 5e-6)
    }

    @Test func geluMatchesErfReference() {
        var x = stride(from: Float(-12), through: 12, by: 0.001).map { $0 }
        x += [0, -0, 1e-20, -1e-20, 30, -30, 87, -87, .greatestFiniteMagnitude / 2]
        var out = [Float](repeating: .nan, count: x.count)
        gelu(&out, x, count: x.count)
        var worst = 0.0
        for (xi, yi) in zip(x, out) {
            let xd = Double(xi)
            let ref = 0.5 * xd * (1 + erf(xd / 2.0.squareRoot()))
            // absolute error for small outputs, relative for large ones
            let err = abs(Double(yi) - ref) / max(1, abs(ref))
            worst = max(worst, err)
        }
        #expect(worst < 1e-6, "worst error \(worst)")
    }

    @Test(arguments: [(4, 16), (3, 50), (2, 1), (1, 128)])
    func softmaxMatchesScalar(rows: Int, cols: Int) {
        let x = randomFloats(rows * cols, -20...20, seed: 4)
        var out = [Float](repeating: 0, count: x.count)
        softmax(&out, x, rows: rows, cols: cols)
        var ref = [Double](repeating: 0, count: x.count)
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            for c in 0..<cols { ref[r * cols + c] = e[c] / s }
        }
        #expect(maxAbsDiff(out, ref) < 1e-6)
    }

    @Test func expIsAccurate() {
        var worst: Float = 0
        for x in stride(from: Float(-87), through: 88, by: 0.0137) {
            let e = exp1(x)
            worst = max(worst, abs(e - Foundation.exp(x)) / Foundation.exp(x))
        }
        #expect(worst < 5e-7)
        #expect(exp1(-200) == 0)
    }

    @Test func biasAndAdd() {
        let x = randomFloats(3 * 20, seed: 5), b = randomFloats(20, seed: 6), y = randomFloats(60, seed: 7)
        var out = [Float](repeating: 0, count: 60)
        addBias(&out, x, b, rows: 3, cols: 20)
        #expect(out == (0..<60).map { x[$0] + b[$0 % 20] })
        add(&out, x, y, count: 60)
        #expect(out == (0..<60).map { x[$0] + y[$0] })
    }

    @Test func matmulWithBiasAndResidual() {
        let (m, n, k) = (5, 24, 33)
        let a = randomFloats(m * k, seed: 8), w = randomFloats(n * k, seed: 9)
        let b = randomFloats(n, seed: 10), r = randomFloats(m * n, seed: 11)
        var ref = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = Double(b[j])
            for e in 0..<k { s += Double(a[i * k + e]) * Double(w[j * k + e]) }
            ref[i * n + j] = s
        } }
        var out = [Float](repeating: 0, count: m * n)
        matmulTransposed(&out, a, w, b, m: m, n: n, k: k)
        #expect(maxAbsDiff(out, ref) < 1e-4)
        matmulTransposedResidual(&out, a, w, b, residual: r, m: m, n: n, k: k)
        #expect(maxAbsDiff(out, zip(ref, r).map { $0 + Double($1) }) < 1e-4)
    }

    /// The kernel this CPU dispatches to, the portable one, and the AVX2 one where the CPU has it.
    @Test(arguments: [1, 5, 8, 9, 16, 17, 40], ["dispatched", "portable", "avx2"])
    func attentionMatchesScalar(tokens t: Int, kernel: String) {
        guard kernel != "avx2" || CPUFeatures.avx2fma else { return }
        let (h, d) = (3, 32)
        let c = h * d, stride = 3 * c + 8   // padded stride checks stride handling
        let qkv = randomFloats(t * stride, -2...2, seed: UInt64(12 + t))
        var out = [Float](repeating: .nan, count: t * c)
        var scratch = [Float](repeating: .nan, count: attentionScratchCount(tokens: t, headDim: d))
        switch kernel {
        case "portable": attentionPortable(&out, outStride: c, qkv, qkvStride: stride, tokens: t, heads: h, headDim: d, scratch: &scratch)
        case "avx2": ck_attention_avx2(&out, Int32(c), qkv, Int32(stride), Int32(t), Int32(h), Int32(d), &scratch)
        default: attention(&out, outStride: c, qkv, qkvStride: stride, tokens: t, heads: h, headDim: d, scratch: &scratch)
        }
        var ref = [Double](repeating: 0, count: t * c)
        for hh in 0..<h { for i in 0..<t {
            var sc = (0..<t).map { j in
                (0..<d).reduce(0.0) { $0 + Double(qkv[i * stride + hh * d + $1]) * Double(qkv[j * stride + c + hh * d + $1]) } / Double(d).squareRoot()
            }
            let m = sc.max()!
            sc = sc.map { Foundation.exp($0 - m) }
            let s = sc.reduce(0, +)
            for e in 0..<d {
                ref[i * c + hh * d + e] = (0..<t).reduce(0.0) { $0 + sc[$1] / s * Double(qkv[$1 * stride + 2 * c + hh * d + e]) }
            }
        } }
        #expect(maxAbsDiff(out, ref) < 1e-5)
    }

    /// On the kernel this CPU dispatches to (AVX-512, AVX2+FMA or portable C).
    @Test(arguments: [(1, 32, 7), (13, 64, 384), (25, 96, 100)])
    func packedGemmMatchesBLAS(m: Int, n: Int, k: Int) throws {
        let a = randomFloats(m * k, -1...1, seed: 30), w = randomFloats(n * k, -1...1, seed: 31)
        let b = randomFloats(n, seed: 32), r = randomFloats(m * n, seed: 33)
        var ref = [Float](repeating: 0, count: m * n), out = ref
        var packed = [Float](repeating: 0, count: n * k)
        packPanels32(&packed, w, n: n, k: k)
        matmulTransposedResidual(&ref, a, w, b, residual: r, m: m, n: n, k: k)
        matmulPacked(&out, a, packed, b, residual: r, m: m, n: n, k: k)
        #expect(maxAbsDiff(out, ref.map(Double.init)) < 1e-4)
        matmulTransposed(&ref, a, w, b, m: m, n: n, k: k)
        matmulPacked(&out, a, packed, b, residual: nil, m: m, n: n, k: k)
        #expect(maxAbsDiff(out, ref.map(Double.init)) < 1e-4)
        // Split over threads by column panels: the same numbers.
        var split = [Float](repeating: .nan, count: m * n)
        matmulPacked(&split, a, packed, b, residual: nil, m: m, n: n, k: k, threads: 3)
        #expect(split == out)
    }

    /// The fp32 GEMM kernels this CPU can run: portable C always, AVX2 and AVX-512 if present.
    static var packedGemmISAs: [GemmISA] { [.portable, .avx2, .avx512].filter(\.isSupported) }

    /// `matmulPacked` runs an AVX2 or AVX-512 kernel wherever the encoder and heads use it.
    @Test func packedGemmDispatch() {
        #expect(CPUFeatures.packedGemm == (GemmISA.packedGemm != .portable))
        #expect(GemmISA.packedGemm.isSupported)
        if CPUFeatures.avx512 { #expect(GemmISA.packedGemm == .avx512) }
        else if CPUFeatures.avx2fma { #expect(GemmISA.packedGemm == .avx2) }
    }

    /// Each element is ((in-order FMA chain over k from 0) + bias) + residual: a row's bytes do
    /// not depend on how many rows are in the call or where in a register tile the row falls, and
    /// every kernel (portable C, AVX2, AVX-512) gives the same bytes. What makes recomputed turns
    /// reproduce the first computation after a crash.
    @Test(arguments: [(64, 384), (96, 37), (32, 1536)])
    func packedGemmIsBatchInvariantAndISAIndependent(n: Int, k: Int) {
        let rows = 25
        let a = randomFloats(rows * k, -1...1, seed: 40), w = randomFloats(n * k, -1...1, seed: 41)
        let b = randomFloats(n, seed: 42), r = randomFloats(rows * n, seed: 43)
        var packed = [Float](repeating: 0, count: n * k)
        packPanels32(&packed, w, n: n, k: k)
        // The contract, in Swift: fused multiply-adds in k order, then bias, then residual.
        var expected = [Float](repeating: 0, count: rows * n)
        for i in 0..<rows { for c in 0..<n {
            var acc: Float = 0
            for e in 0..<k { acc = acc.addingProduct(a[i * k + e], w[c * k + e]) }
            expected[i * n + c] = (acc + b[c]) + r[i * n + c]
        } }
        func gemm(_ isa: GemmISA, rows lo: Int, _ count: Int, threads: Int = 1) -> [Float] {
            var out = [Float](repeating: .nan, count: count * n)
            a.withUnsafeBufferPointer { ap in r.withUnsafeBufferPointer { rp in
                matmulPacked(&out, ap.baseAddress! + lo * k, packed, b, residual: rp.baseAddress! + lo * n,
                             m: count, n: n, k: k, threads: threads, isa: isa)
            } }
            return out
        }
        func slice(_ x: [Float], _ lo: Int, _ count: Int) -> [Float] { Array(x[(lo * n)..<((lo + count) * n)]) }
        for isa in Self.packedGemmISAs + [.auto] {
            let full = gemm(isa, rows: 0, rows)
            #expect(full == expected, "\(isa): batch of \(rows) differs from the in-order FMA chain")
            #expect(gemm(isa, rows: 0, rows, threads: 2) == full, "\(isa): two threads")
            for i in 0..<rows {
                #expect(gemm(isa, rows: i, 1) == slice(full, i, 1), "\(isa): row \(i) alone")
            }
            for lo in 0...(rows - 7) {
                #expect(gemm(isa, rows: lo, 7) == slice(full, lo, 7), "\(isa): rows \(lo)..<\(lo + 7)")
            }
        }
    }
}

@Suite struct BF16KernelsTests {
    /// On the kernel this CPU dispatches to (AVX512-BF16 or portable C).
    @Test(arguments: [(1, 32, 32), (13, 64, 384), (30, 96, 1536)])
    func bf16GemmCloseToFP32(m: Int, n: Int, k: Int) throws {
        let a = randomFloats(m * k, -1...1, seed: 20), w = randomFloats(n * k, -1...1, seed: 21)
        let b = randomFloats(n, seed: 22), r = randomFloats(m * n, seed: 23)
        var ref = [Float](repeating: 0, count: m * n)
        matmulTransposedResidual(&ref, a, w, b, residual: r, m: m, n: n, k: k)
        let packed = PackedBF16Matrix(w, n: n, k: k)
        var scratch = [UInt16](repeating: 0, count: bf16ScratchCount(m: m, k: k))
        var out = [Float](repeating: .nan, count: m * n)
        matmulBF16(&out, a, packed, b, residual: r, m: m, scratch: &scratch)
        // bf16 keeps 8 significant bits: error ~ 2^-8 · sqrt(K) · |a||w|.
        let tol = Double(k).squareRoot() * 0.01
        #expect(maxAbsDiff(out, ref.map(Double.init)) < tol)
        matmulBF16(&out, a, packed, b, residual: nil, m: m, scratch: &scratch)
        #expect(maxAbsDiff(out, zip(ref, r).map { Double($0 - $1) }) < tol)
        // Packing from the fp32 panel layout gives the same bf16 matrix.
        var panels = [Float](repeating: 0, count: n * k)
        packPanels32(&panels, w, n: n, k: k)
        var out2 = [Float](repeating: .nan, count: m * n)
        matmulBF16(&out2, a, PackedBF16Matrix(panels32: panels, n: n, k: k), b, residual: nil, m: m, scratch: &scratch)
        #expect(out2 == out)
        matmulBF16(&out2, a, packed, b, residual: nil, m: m, scratch: &scratch, threads: 2)
        #expect(out2 == out)
    }

    /// The portable bf16 GEMM rounds like `vcvtne2ps2bf16` and sums like `vdpbf16ps` (odd
    /// element of each pair first): its result is the sum of exact bf16 products in that order.
    @Test func portableBF16GemmIsTheInOrderSumOfBF16Products() {
        let (m, n, k) = (5, 32, 96)
        var a = randomFloats(m * k, -1...1, seed: 24), w = randomFloats(n * k, -1...1, seed: 25)
        a[0] = 1.5e-39; a[1] = -2e-40; w[2] = 0.1   // denormal inputs become zero, as vcvtne2ps2bf16 does
        let b = randomFloats(n, seed: 26)
        func bf16(_ x: Float, flushDenormal: Bool) -> Float {
            if flushDenormal && x.isSubnormal { return x.sign == .minus ? -0 : 0 }
            var bits = x.bitPattern
            bits = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
            return Float(bitPattern: bits & 0xFFFF_0000)
        }
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for c in 0..<n {
            var acc: Float = 0
            for q in 0..<(k / 2) {
                for e in [1, 0] {
                    acc = acc.addingProduct(bf16(a[i * k + 2 * q + e], flushDenormal: true), bf16(w[c * k + 2 * q + e], flushDenormal: false))
                }
            }
            expected[i * n + c] = acc + b[c]
        } }
        let packed = PackedBF16Matrix(w, n: n, k: k)
        var scratch = [UInt16](repeating: 0, count: bf16ScratchCount(m: m, k: k))
        var out = [Float](repeating: .nan, count: m * n)
        matmulBF16(&out, a, packed, b, residual: nil, m: m, scratch: &scratch, isa: .portable)
        #expect(out == expected)
        if CPUFeatures.avx2fma {
            // The AVX2 emulation sums in the same order: identical, also with a residual and
            // rows past a tile (m = 5 is a tile of 4 and one of 1).
            var emulated = [Float](repeating: .nan, count: m * n)
            matmulBF16(&emulated, a, packed, b, residual: nil, m: m, scratch: &scratch, isa: .avx2)
            #expect(emulated == out)
            let residual = randomFloats(m * n, seed: 27)
            var withResidual = [Float](repeating: .nan, count: m * n), portable = withResidual
            matmulBF16(&withResidual, a, packed, b, residual: residual, m: m, scratch: &scratch, isa: .avx2)
            matmulBF16(&portable, a, packed, b, residual: residual, m: m, scratch: &scratch, isa: .portable)
            #expect(withResidual == portable)
        }
        if CPUFeatures.avx512bf16 {
            // vdpbf16ps flushes denormal sums too, so allow a little.
            var hw = [Float](repeating: .nan, count: m * n)
            matmulBF16(&hw, a, packed, b, residual: nil, m: m, scratch: &scratch, isa: .avx512bf16)
            #expect(maxAbsDiff(hw, out.map(Double.init)) < 1e-5)
        }
    }
}

@Suite struct CPUFeaturesTests {
    @Test(arguments: [("max 100000\n", nil), ("200000 100000\n", 2), ("150000 100000", 2), ("50000 100000", 1), ("garbage", nil)] as [(String, Int?)])
    func cgroupQuota(text: String, cpus: Int?) {
        #expect(CPUFeatures.cgroupCPUs(text) == cpus)
    }

    @Test func usableCPUsWithinTheMachine() {
        #expect((1...ProcessInfo.processInfo.activeProcessorCount).contains(CPUFeatures.usableCPUs))
    }
}

@Suite struct PortableKernelsTests {
    /// The SIMD16 Swift GELU (CPUs with neither AVX-512 nor AVX2 + FMA) and the AVX2 one, where
    /// this CPU has it (an odd count: the AVX2 tail too).
    @Test(arguments: ["portable", "avx2"]) func geluImplementationsMatchErf(_ kernel: String) {
        guard kernel == "portable" || CPUFeatures.avx2fma else { return }
        let x = stride(from: Float(-12), through: 12, by: 0.0013).map { $0 } + [30, -30, 87, -87, 0, -0]
        var out = [Float](repeating: .nan, count: x.count)
        if kernel == "portable" { geluPortable(&out, x, count: x.count) } else { ck_gelu_avx2(&out, x, x.count) }
        var worst = 0.0
        for (xi, yi) in zip(x, out) {
            let xd = Double(xi), ref = 0.5 * xd * (1 + erf(xd / 2.0.squareRoot()))
            worst = max(worst, abs(Double(yi) - ref) / max(1, abs(ref)))
        }
        #expect(worst < 1e-6, "worst error \(worst)")
    }
}

@Suite struct Int8KernelsTests {
    /// The ISAs the int8 GEMM can run on here; each must give the portable C's bits.
    static var isas: [GemmISA] { [.portable, .avx2, .avxvnni, .avx512vnni].filter(\.isSupported) }

    /// Close to fp32: per row, the 8-bit activations' step is (max − min) / 255 and the weights'
    /// max |w| / 127, so the error grows like √K times those steps.
    @Test(arguments: [(1, 32, 32), (13, 64, 384), (30, 96, 1536)])
    func int8GemmCloseToFP32(m: Int, n: Int, k: Int) throws {
        var a = randomFloats(m * k, -1...1, seed: 30)
        for i in 0..<m { a[i * k] = 6 }   // an outlier per row, as GELU and LayerNorm produce
        let w = randomFloats(n * k, -1...1, seed: 31), b = randomFloats(n, seed: 32), r = randomFloats(m * n, seed: 33)
        var ref = [Float](repeating: 0, count: m * n)
        matmulTransposedResidual(&ref, a, w, b, residual: r, m: m, n: n, k: k)
        let packed = PackedInt8Matrix(w, n: n, k: k), scratch = Int8Scratch(m: m, k: k)
        var out = [Float](repeating: .nan, count: m * n)
        matmulInt8(&out, a, packed, b, residual: r, m: m, scratch: scratch)
        let tol = Double(k).squareRoot() * (7.0 / 255 + 1.0 / 127) * 0.6
        #expect(maxAbsDiff(out, ref.map(Double.init)) < tol)
        #expect(maxAbsDiff(out, ref.map(Double.init)) > 0, "quantised, not exact")
        // Packed from the fp32 panel layout: the same matrix; two threads: the same columns.
        var panels = [Float](repeating: 0, count: n * k)
        packPanels32(&panels, w, n: n, k: k)
        var out2 = [Float](repeating: .nan, count: m * n)
        matmulInt8(&out2, a, PackedInt8Matrix(panels, n: n, k: k, panels32: true), b, residual: r, m: m, scratch: scratch)
        #expect(out2 == out)
        matmulInt8(&out2, a, packed, b, residual: r, m: m, scratch: scratch, threads: 2)
        #expect(out2 == out)
    }

    /// SmoothQuant: a channel ten times larger than the rest in every row (as LayerNorm's outlier
    /// channels are) stretches each row's 8-bit step; smoothing moves it into the weights, the
    /// product stays the same in exact arithmetic, the error falls, and every ISA still gives the
    /// portable C's bits, from either weight layout.
    @Test func int8SmoothingTakesInAnOutlierChannel() {
        let (m, n, k) = (13, 64, 384)
        var a = randomFloats(m * k, -1...1, seed: 40)
        for i in 0..<m { a[i * k + 7] = 10 + Float(i % 3) }
        let w = randomFloats(n * k, -1...1, seed: 41), b = randomFloats(n, seed: 42)
        var ref = [Float](repeating: 0, count: m * n)
        matmulTransposedResidual(&ref, a, w, b, residual: [Float](repeating: 0, count: m * n), m: m, n: n, k: k)
        // s_j = √(max|X_j| / max|W_j|), as ActivationRanges makes them with α = 0.5.
        let s = (0..<k).map { j in ((0..<m).map { abs(a[$0 * k + j]) }.max()! / (0..<n).map { abs(w[$0 * k + j]) }.max()!).squareRoot() }
        let scratch = Int8Scratch(m: m, k: k)
        func gemm(_ packed: PackedInt8Matrix, _ isa: GemmISA = .auto) -> [Float] {
            var out = [Float](repeating: .nan, count: m * n)
            matmulInt8(&out, a, packed, b, residual: nil, m: m, scratch: scratch, isa: isa)
            return out
        }
        let plain = gemm(PackedInt8Matrix(w, n: n, k: k)), smoothedPacked = PackedInt8Matrix(w, n: n, k: k, smoothing: s)
        let smoothed = gemm(smoothedPacked)
        let (e0, e1) = (maxAbsDiff(plain, ref.map(Double.init)), maxAbsDiff(smoothed, ref.map(Double.init)))
        #expect(e1 < 0.5 * e0, "max error \(e1) smoothed against \(e0)")
        var panels = [Float](repeating: 0, count: n * k)
        packPanels32(&panels, w, n: n, k: k)
        #expect(gemm(PackedInt8Matrix(panels, n: n, k: k, panels32: true, smoothing: s)) == smoothed)
        for isa in Self.isas { #expect(gemm(smoothedPacked, isa) == gemm(smoothedPacked, .portable), "\(isa)") }
    }

    /// Integer sums are exact and the epilogue is the same multiply and adds everywhere: every
    /// ISA gives the portable C's bits, with and without a residual, across partial tiles, and a
    /// row's result does not depend on the rows beside it. K 384 takes the AVX2 quantiser (K a
    /// multiple of 32) on .avx2, 400 the plain C one; 36 leaves the AVX2 row widening a tail.
    @Test(arguments: [400, 384, 36]) func int8GemmIsBitIdenticalAcrossISAsAndRows(k: Int) {
        let (m, n) = (19, 64)
        let a = randomFloats(m * k, -2...3, seed: 34), w = randomFloats(n * k, -1...1, seed: 35)
        let b = randomFloats(n, seed: 36), r = randomFloats(m * n, seed: 37)
        let packed = PackedInt8Matrix(w, n: n, k: k), scratch = Int8Scratch(m: m, k: k)
        func gemm(_ isa: GemmISA, rows: Range<Int> = 0..<m, residual: Bool = true) -> [Float] {
            var out = [Float](repeating: .nan, count: rows.count * n)
            let sub = Array(a[(rows.lowerBound * k)..<(rows.upperBound * k)]), res = Array(r[(rows.lowerBound * n)..<(rows.upperBound * n)])
            matmulInt8(&out, sub, packed, b, residual: residual ? res : nil, m: rows.count, scratch: scratch, isa: isa)
            return out
        }
        let portable = gemm(.portable), plain = gemm(.portable, residual: false)
        #expect(Self.isas.count >= 2 || !CPUFeatures.avx2fma, "this x86 CPU has a vector int8 kernel")
        for isa in Self.isas {
            #expect(gemm(isa) == portable, "\(isa)")
            #expect(gemm(isa, residual: false) == plain, "\(isa) without residual")
            for rows in [0..<1, 3..<10, 5..<19] {
                #expect(gemm(isa, rows: rows) == Array(portable[(rows.lowerBound * n)..<(rows.upperBound * n)]), "\(isa) rows \(rows)")
            }
        }
    }
}
