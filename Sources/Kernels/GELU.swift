import CKernels

/// Exact GELU, out = x · Φ(x) = ½ · x · (1 + erf(x / √2)), in place allowed.
///
/// erfc(a) for a ≥ 0 is evaluated as t · P(t) · e^(−a²) with t = 1 / (1 + a/2) and P a
/// degree-7 polynomial fitted by least squares on [0, 7] (fit error 5e-10); the float
/// result is within 4e-7 of the exact GELU on [−10, 10].
///
/// - out: (N)
/// - x:   (N)
public func gelu(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    if CPUFeatures.avx512 {
        ck_gelu_avx512(out, x, count)   // the same formula in 512-bit code with FMA
    } else if CPUFeatures.avx2fma {
        ck_gelu_avx2(out, x, count)     // and in 256-bit code with FMA
    } else {
        geluPortable(out, x, count: count)
    }
}

/// `gelu` in SIMD16<Float> Swift, for CPUs with neither AVX-512 nor AVX2 + FMA.
func geluPortable(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    let vec = count & ~15
    var i = 0
    while i < vec {
        store16(out + i, gelu16(load16(x + i)))
        i += 16
    }
    while i < count {
        out[i] = gelu16(SIMD16<Float>(repeating: x[i]))[0]
        i += 1
    }
}

@inline(__always) func gelu16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    x * normalCDF16(x)
}

/// Φ(x), the standard normal CDF, per lane: the erf approximation `gelu` is built on.
@inline(__always) func normalCDF16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    var a = x * 0.707_106_77
    a.replace(with: -a, where: a .< 0)
    a.replace(with: 10, where: a .> 10)
    let t = 1 / (1 + 0.5 * a)
    var p = SIMD16<Float>(repeating: -0.051_091_600)
    p = p * t + 0.340_369_58
    p = p * t - 0.878_551_90
    p = p * t + 0.976_112_60
    p = p * t - 0.349_817_75
    p = p * t + 0.432_161_45
    p = p * t + 0.245_621_73
    p = p * t + 0.285_195_92
    let halfErfc = 0.5 * t * p * exp16(-(a * a))
    var phi = 1 - halfErfc
    phi.replace(with: halfErfc, where: x .< 0)
    return phi
}
