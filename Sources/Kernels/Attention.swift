import CKernels

/// Floats of scratch memory `attention` needs for a sequence of `tokens` tokens.
public func attentionScratchCount(tokens: Int, headDim: Int) -> Int {
    let tp = (tokens + 15) & ~15
    return (headDim + 4) * tp
}

/// Multi-head self-attention over one unpadded sequence (every token sees every token):
/// out_h = softmax(q_h k_hᵀ / √D) v_h for each head h.
///
/// K of each head is transposed into scratch so the scores of 16 keys come from one
/// vector multiply-add per head dimension; P·V accumulates D/16 vectors per query.
///
/// - out:     (T, H·D), row stride `outStride`
/// - qkv:     (T, 3·H·D), row stride `qkvStride`, each row [q | k | v], head h at column h·D
/// - scratch: attentionScratchCount(tokens: T, headDim: D) floats
/// - D must be a multiple of 16.
public func attention(
    _ out: UnsafeMutablePointer<Float>, outStride: Int,
    _ qkv: UnsafePointer<Float>, qkvStride: Int,
    tokens t: Int, heads: Int, headDim d: Int,
    scratch: UnsafeMutablePointer<Float>
) {
    precondition(d % 16 == 0 && d <= 64, "headDim must be a multiple of 16, at most 64")
    if CPUFeatures.avx512 && d == 32 {
        ck_attention_avx512(out, Int32(outStride), qkv, Int32(qkvStride), Int32(t), Int32(heads), Int32(d), scratch)
    } else if CPUFeatures.avx2fma && d == 32 {
        ck_attention_avx2(out, Int32(outStride), qkv, Int32(qkvStride), Int32(t), Int32(heads), Int32(d), scratch)
    } else {
        attentionPortable(out, outStride: outStride, qkv, qkvStride: qkvStride, tokens: t, heads: heads, headDim: d, scratch: scratch)
    }
}

/// `attention` in SIMD16<Float> Swift, for CPUs with neither AVX-512 nor AVX2 + FMA, and head sizes other than 32.
func attentionPortable(
    _ out: UnsafeMutablePointer<Float>, outStride: Int,
    _ qkv: UnsafePointer<Float>, qkvStride: Int,
    tokens t: Int, heads: Int, headDim d: Int,
    scratch: UnsafeMutablePointer<Float>
) {
    let c = heads * d
    let tp = (t + 15) & ~15
    let kt = scratch            // (D, Tp)
    let s = scratch + d * tp    // (Tp)
    let scale = 1 / Float(d).squareRoot()
    let chunks = tp / 16
    let lane = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    let tailMask = lane .>= Int32(t - (chunks - 1) * 16)

    for h in 0..<heads {
        let q0 = qkv + h * d, k0 = qkv + c + h * d, v0 = qkv + 2 * c + h * d
        // kt[e, j] = k[j, e]; pad keys j >= T with zeros.
        for j in 0..<t {
            let kr = k0 + j * qkvStride
            for e in 0..<d { kt[e * tp + j] = kr[e] }
        }
        if t < tp { for e in 0..<d { (kt + e * tp + t).update(repeating: 0, count: tp - t) } }

        for i in 0..<t {
            let qr = q0 + i * qkvStride
            // scores
            var m = SIMD16<Float>(repeating: -.infinity)
            for ch in 0..<chunks {
                var acc = SIMD16<Float>()
                var ktp = kt + ch * 16
                for e in 0..<d {
                    acc += qr[e] * load16(ktp)
                    ktp += tp
                }
                acc *= scale
                if ch == chunks - 1 { acc.replace(with: -.infinity, where: tailMask) }
                m.replace(with: acc, where: acc .> m)
                store16(s + ch * 16, acc)
            }
            let mx = m.max()
            var sumv = SIMD16<Float>()
            for ch in 0..<chunks {
                let e = exp16(load16(s + ch * 16) - mx)
                sumv += e
                store16(s + ch * 16, e)
            }
            let inv = 1 / sumv.sum()
            // out_i = Σ_j p_j v_j
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var vr = v0
            for j in 0..<t {
                let p = s[j]
                a0 += p * load16(vr)
                if d > 16 { a1 += p * load16(vr + 16) }
                if d > 32 { a2 += p * load16(vr + 32) }
                if d > 48 { a3 += p * load16(vr + 48) }
                vr += qkvStride
            }
            let or = out + i * outStride + h * d
            store16(or, a0 * inv)
            if d > 16 { store16(or + 16, a1 * inv) }
            if d > 32 { store16(or + 32, a2 * inv) }
            if d > 48 { store16(or + 48, a3 * inv) }
        }
    }
}
