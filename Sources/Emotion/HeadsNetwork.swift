import Foundation
import Kernels
import Contracts

/// The heads' parameters: one shared hidden layer, then 34 outputs (32 emotion logits, the
/// sarcasm logit, the intensity logit).
///
///   h = relu(W1 · x + b1)        x: (D), W1: (H, D)
///   z = W2 · h + b2              W2: (34, H)
package struct HeadsNetwork: Sendable, Equatable {
    package static let outputs = PlutchikEmotion.count + 2
    static let sarcasmOutput = PlutchikEmotion.count
    static let intensityOutput = PlutchikEmotion.count + 1

    package let inputs: Int
    package let hidden: Int
    package var w1: [Float]   // (H, D)
    package var b1: [Float]   // (H)
    package var w2: [Float]   // (34, H)
    package var b2: [Float]   // (34)

    /// He-initialised weights, zero biases.
    package init(inputs: Int, hidden: Int, rng: inout SeededGenerator) {
        self.inputs = inputs
        self.hidden = hidden
        let s1 = (2 / Float(inputs)).squareRoot(), s2 = (1 / Float(hidden)).squareRoot()
        w1 = (0..<(hidden * inputs)).map { _ in rng.nextGaussian() * s1 }
        b1 = [Float](repeating: 0, count: hidden)
        w2 = (0..<(Self.outputs * hidden)).map { _ in rng.nextGaussian() * s2 }
        b2 = [Float](repeating: 0, count: Self.outputs)
    }

    package init(inputs: Int, hidden: Int, w1: [Float], b1: [Float], w2: [Float], b2: [Float]) {
        precondition(w1.count == hidden * inputs && b1.count == hidden && w2.count == Self.outputs * hidden && b2.count == Self.outputs)
        self.inputs = inputs; self.hidden = hidden
        self.w1 = w1; self.b1 = b1; self.w2 = w2; self.b2 = b2
    }

    /// Forward pass over a batch. x: (B, D) → h: (B, H) after relu (and the dropout mask if
    /// given, (B, H) of 0 or 1/keep), z: (B, 34).
    package func forward(_ x: [Float], batch: Int, dropoutMask: [Float]? = nil) -> (h: [Float], z: [Float]) {
        var h = [Float](repeating: 0, count: batch * hidden)
        var z = [Float](repeating: 0, count: batch * Self.outputs)
        x.withUnsafeBufferPointer { xp in w1.withUnsafeBufferPointer { wp in b1.withUnsafeBufferPointer { bp in
            h.withUnsafeMutableBufferPointer { hp in
                matmulTransposed(hp.baseAddress!, xp.baseAddress!, wp.baseAddress!, bp.baseAddress!, m: batch, n: hidden, k: inputs)
            }
        } } }
        for i in h.indices where h[i] < 0 { h[i] = 0 }
        if let dropoutMask { for i in h.indices { h[i] *= dropoutMask[i] } }
        h.withUnsafeBufferPointer { hp in w2.withUnsafeBufferPointer { wp in b2.withUnsafeBufferPointer { bp in
            z.withUnsafeMutableBufferPointer { zp in
                matmulTransposed(zp.baseAddress!, hp.baseAddress!, wp.baseAddress!, bp.baseAddress!, m: batch, n: Self.outputs, k: hidden)
            }
        } } }
        return (h, z)
    }

    /// Gradients of the loss with respect to every parameter, given dL/dz: (B, 34).
    /// Hidden units that were zero in the forward pass (relu or dropout) pass no gradient;
    /// surviving dropout units carry their 1/keep scale through `dropoutMask`.
    package func backward(x: [Float], h: [Float], dz: [Float], batch: Int, dropoutMask: [Float]? = nil) -> HeadsNetwork {
        let o = Self.outputs
        // dW2 (34, H) = dzᵀ (34, B) · h (B, H)
        let dzT = transposed(dz, rows: batch, cols: o), hT = transposed(h, rows: batch, cols: hidden)
        let dw2 = matmul(dzT, hT, m: o, n: hidden, k: batch)
        var db2 = [Float](repeating: 0, count: o)
        for r in 0..<batch { for j in 0..<o { db2[j] += dz[r * o + j] } }
        // dh (B, H) = dz (B, 34) · W2 (34, H)
        var dh = matmul(dz, transposed(w2, rows: o, cols: hidden), m: batch, n: hidden, k: o)
        for i in dh.indices {
            if h[i] <= 0 { dh[i] = 0 } else if let dropoutMask { dh[i] *= dropoutMask[i] }
        }
        // dW1 (H, D) = dhᵀ (H, B) · x (B, D)
        let dw1 = matmul(transposed(dh, rows: batch, cols: hidden), transposed(x, rows: batch, cols: inputs), m: hidden, n: inputs, k: batch)
        var db1 = [Float](repeating: 0, count: hidden)
        for r in 0..<batch { for j in 0..<hidden { db1[j] += dh[r * hidden + j] } }
        return HeadsNetwork(inputs: inputs, hidden: hidden, w1: dw1, b1: db1, w2: dw2, b2: db2)
    }
}

/// a (M, K) · bᵀ where bT is given as (N, K); returns (M, N).
func matmul(_ a: [Float], _ bT: [Float], m: Int, n: Int, k: Int) -> [Float] {
    var out = [Float](repeating: 0, count: m * n)
    guard m > 0, n > 0, k > 0 else { return out }
    a.withUnsafeBufferPointer { ap in bT.withUnsafeBufferPointer { bp in out.withUnsafeMutableBufferPointer { op in
        matmulTransposed(op.baseAddress!, ap.baseAddress!, bp.baseAddress!, nil, m: m, n: n, k: k)
    } } }
    return out
}

/// The transpose of a row-major (rows, cols) matrix.
func transposed(_ a: [Float], rows: Int, cols: Int) -> [Float] {
    var out = [Float](repeating: 0, count: a.count)
    for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = a[r * cols + c] } }
    return out
}

/// One training example's targets.
package struct HeadsTarget: Sendable {
    package var label: Int
    package var sarcasm: Float
    var intensity: Float
    package init(label: Int, sarcasm: Float, intensity: Float) {
        self.label = label; self.sarcasm = sarcasm; self.intensity = intensity
    }

}

/// The multitask loss: class-weighted cross-entropy over the 32 emotions, weighted binary
/// cross-entropy for sarcasm, squared error of sigmoid(intensity logit) against the ring intensity.
package struct HeadsLoss: Sendable {
    package var classWeights: [Float] = [Float](repeating: 1, count: PlutchikEmotion.count)
    var sarcasmWeight: Float = 0.5
    package var sarcasmPositiveWeight: Float = 1
    var intensityWeight: Float = 0.5

    /// Mean loss over the batch and dL/dz: (B, 34).
    package func evaluate(z: [Float], targets: [HeadsTarget]) -> (loss: Float, dz: [Float]) {
        let o = HeadsNetwork.outputs, c = PlutchikEmotion.count, b = targets.count
        var dz = [Float](repeating: 0, count: z.count)
        var loss: Float = 0
        let invB = 1 / Float(b)
        for (r, t) in targets.enumerated() {
            let row = r * o
            var mx = -Float.infinity
            for j in 0..<c { mx = max(mx, z[row + j]) }
            var sum: Float = 0
            for j in 0..<c { sum += exp(z[row + j] - mx) }
            let cw = classWeights[t.label]
            loss += cw * (log(sum) + mx - z[row + t.label])
            for j in 0..<c { dz[row + j] = cw * exp(z[row + j] - mx) / sum * invB }
            dz[row + t.label] -= cw * invB

            let s = z[row + HeadsNetwork.sarcasmOutput]
            let ps = sigmoid(s)
            let sw = sarcasmWeight * (t.sarcasm > 0.5 ? sarcasmPositiveWeight : 1)
            // -[y log σ(s) + (1-y) log(1-σ(s))], written stably.
            loss += sw * (max(s, 0) - s * t.sarcasm + log(1 + exp(-abs(s))))
            dz[row + HeadsNetwork.sarcasmOutput] = sw * (ps - t.sarcasm) * invB

            let pi = sigmoid(z[row + HeadsNetwork.intensityOutput])
            loss += intensityWeight * (pi - t.intensity) * (pi - t.intensity)
            dz[row + HeadsNetwork.intensityOutput] = intensityWeight * 2 * (pi - t.intensity) * pi * (1 - pi) * invB
        }
        return (loss * invB, dz)
    }
    package init(classWeights: [Float] = [Float](repeating: 1, count: PlutchikEmotion.count), sarcasmWeight: Float = 0.5, sarcasmPositiveWeight: Float = 1, intensityWeight: Float = 0.5) {
        self.classWeights = classWeights; self.sarcasmWeight = sarcasmWeight; self.sarcasmPositiveWeight = sarcasmPositiveWeight; self.intensityWeight = intensityWeight
    }

}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
