import Kernels

/// The heads' weights laid out for `matmulPacked` (AVX-512 or AVX2+FMA), for inference: each turn's outputs
/// are computed the same way whatever else is in its batch (a row's sums run over the inputs in
/// order), so a stream batch goes through in one pass and a replayed turn reproduces the same
/// bytes. The weights are read once per batch instead of once per turn.
struct PackedHeadsNetwork: Sendable {
    let inputs: Int
    /// Hidden units and outputs, padded with zero rows to multiples of 32.
    let hidden: Int
    let outputs: Int
    let w1: [Float]   // (hidden, inputs) packed
    let b1: [Float]   // (hidden)
    let w2: [Float]   // (outputs, hidden) packed
    let b2: [Float]   // (outputs)

    /// Nil on CPUs with neither AVX-512 nor AVX2+FMA.
    init?(_ net: HeadsNetwork) {
        guard CPUFeatures.packedGemm else { return nil }
        func padded(_ n: Int) -> Int { (n + 31) / 32 * 32 }
        let d = net.inputs, h = padded(net.hidden), o = padded(HeadsNetwork.outputs)
        func pack(_ w: [Float], rows: Int, cols: Int, toRows n: Int, toCols k: Int) -> [Float] {
            var full = [Float](repeating: 0, count: n * k)
            for r in 0..<rows { for c in 0..<cols { full[r * k + c] = w[r * cols + c] } }
            var out = [Float](repeating: 0, count: n * k)
            full.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { packPanels32($0.baseAddress!, src.baseAddress!, n: n, k: k) } }
            return out
        }
        inputs = d; hidden = h; outputs = o
        w1 = pack(net.w1, rows: net.hidden, cols: d, toRows: h, toCols: d)
        b1 = net.b1 + [Float](repeating: 0, count: h - net.hidden)
        w2 = pack(net.w2, rows: HeadsNetwork.outputs, cols: net.hidden, toRows: o, toCols: h)
        b2 = net.b2 + [Float](repeating: 0, count: o - HeadsNetwork.outputs)
    }

    /// The raw outputs z: (B, 34) of x: (B, D).
    func logits(_ x: [Float], batch: Int) -> [Float] {
        var h = [Float](repeating: 0, count: batch * hidden), z = [Float](repeating: 0, count: batch * outputs)
        matmulPacked(&h, x, w1, b1, residual: nil, m: batch, n: hidden, k: inputs)
        for i in h.indices where h[i] < 0 { h[i] = 0 }
        matmulPacked(&z, h, w2, b2, residual: nil, m: batch, n: outputs, k: hidden)
        let o = HeadsNetwork.outputs
        return (0..<batch).flatMap { r in z[(r * outputs)..<(r * outputs + o)] }
    }
}
