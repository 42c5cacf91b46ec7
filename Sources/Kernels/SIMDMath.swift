// Small vector helpers shared by the kernels. SIMD16<Float> is one AVX-512 register
// (four SSE registers on a baseline build). Clamps use replacing(with:where:) because
// SIMD .clamped/pointwiseMin/Max compile to slow per-lane code.

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) func load16(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) func store16(_ p: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// e^x per lane, relative error about 2e-7 over the float range; 0 below -87.3.
@inline(__always) func exp16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    var x = x
    let under = x .< -87.3
    x.replace(with: -87.3, where: under)
    x.replace(with: 88.7, where: x .> 88.7)
    // x = n ln2 + r, |r| <= ln2/2; n rounded to nearest by the 1.5·2^23 trick.
    let magic: Float = 12_582_912
    let t = x * 1.442_695_04 + magic
    let n = t - magic
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6
    // Taylor to r^7 on |r| <= 0.347: truncation error < 1e-8.
    var p = SIMD16<Float>(repeating: 1.0 / 5040)
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let ni = unsafeBitCast(t, to: SIMD16<Int32>.self) &- magic.bitPattern.int32
    let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD16<Float>.self)
    var y = p * scale
    y.replace(with: 0, where: under)
    return y
}

extension UInt32 {
    @inline(__always) var int32: Int32 { Int32(bitPattern: self) }
}

/// Scalar e^x through the same vector code, for tails.
@inline(__always) func exp1(_ x: Float) -> Float {
    exp16(SIMD16<Float>(repeating: x))[0]
}
