import Foundation
import Kernels
import Contracts

/// The heads' parameters: one shared hidden layer, then 35 outputs (32 emotion logits, the
/// sarcasm logit, the intensity logit, the neutral logit).
///
///   h = relu(W1 · x + b1)        x: (D), W1: (H, D)
///   z = W2 · h + b2              W2: (35, H)
package struct HeadsNetwork: Sendable, Equatable {
    package static let outputs = PlutchikEmotion.count + 3
    package static let sarcasmOutput = PlutchikEmotion.count
    package static let intensityOutput = PlutchikEmotion.count + 1
    package static let neutralOutput = PlutchikEmotion.count + 2

    package let inputs: Int
    package let hidden: Int
    package var w1: [Float]   // (H, D)
    package var b1: [Float]   // (H)
    package var w2: [Float]   // (35, H)
    package var b2: [Float]   // (35)

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
    /// given, (B, H) of 0 or 1/keep), z: (B, 35).
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

    /// Gradients of the loss with respect to every parameter, given dL/dz: (B, 35).
    /// Hidden units that were zero in the forward pass (relu or dropout) pass no gradient;
    /// surviving dropout units carry their 1/keep scale through `dropoutMask`.
    package func backward(x: [Float], h: [Float], dz: [Float], batch: Int, dropoutMask: [Float]? = nil) -> HeadsNetwork {
        let o = Self.outputs
        // dW2 (35, H) = dzᵀ (35, B) · h (B, H)
        let dzT = transposed(dz, rows: batch, cols: o), hT = transposed(h, rows: batch, cols: hidden)
        let dw2 = matmul(dzT, hT, m: o, n: hidden, k: batch)
        var db2 = [Float](repeating: 0, count: o)
        for r in 0..<batch { for j in 0..<o { db2[j] += dz[r * o + j] } }
        // dh (B, H) = dz (B, 35) · W2 (35, H)
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

/// One training example's targets; a missing one adds no loss.
package struct HeadsTarget: Sendable {
    /// The class, when known.
    package var label: Int?
    /// Partial supervision when only the sector is known: the loss is −log of the sector's primary
    /// score (`PlutchikEmotion.primaryScores`: its ring classes and half of its dyads).
    package var sector: Int?
    /// The weight of the class (or sector) loss: its class's balancing weight within its source.
    package var classWeight: Float = 1
    package var sarcasm: Float?
    package var intensity: Float?
    package var neutral: Float?
    /// The example's weight (its source's share of the loss).
    package var weight: Float = 1

    package init(label: Int? = nil, sector: Int? = nil, classWeight: Float = 1, sarcasm: Float? = nil, intensity: Float? = nil,
                 neutral: Float? = nil, weight: Float = 1) {
        self.label = label; self.sector = sector; self.classWeight = classWeight; self.sarcasm = sarcasm
        self.intensity = intensity; self.neutral = neutral; self.weight = weight
    }
}

/// The multitask loss: class-weighted cross-entropy over the 32 emotions (or over the sector's
/// share of them), weighted binary cross-entropy for sarcasm and for the neutral gate, squared
/// error of sigmoid(intensity logit) against the ring intensity.
package struct HeadsLoss: Sendable {
    package var sarcasmWeight: Float = 0.5
    package var sarcasmPositiveWeight: Float = 1
    package var intensityWeight: Float = 0.5
    package var neutralWeight: Float = 1

    package init(sarcasmWeight: Float = 0.5, sarcasmPositiveWeight: Float = 1, intensityWeight: Float = 0.5, neutralWeight: Float = 1) {
        self.sarcasmWeight = sarcasmWeight; self.sarcasmPositiveWeight = sarcasmPositiveWeight
        self.intensityWeight = intensityWeight; self.neutralWeight = neutralWeight
    }

    /// Each class's share of each sector's primary score: (8, 32).
    static let sectorShares: [[Float]] = (0..<8).map { s in
        PlutchikEmotion.allCases.map { e in
            let sectors = e.sectors
            return sectors.contains { $0.rawValue == s } ? (sectors.count == 1 ? 1 : 0.5) : 0
        }
    }

    /// Mean loss over the batch and dL/dz: (B, 35).
    package func evaluate(z: [Float], targets: [HeadsTarget]) -> (loss: Float, dz: [Float]) {
        let o = HeadsNetwork.outputs, c = PlutchikEmotion.count, b = targets.count
        var dz = [Float](repeating: 0, count: z.count)
        var loss: Float = 0
        let invB = 1 / Float(b)
        var p = [Float](repeating: 0, count: c)
        /// Weighted binary cross-entropy of logit s against y, written stably; adds dL/ds.
        func binary(_ j: Int, _ y: Float, _ w: Float) -> Float {
            let s = z[j]
            dz[j] = w * (sigmoid(s) - y) * invB
            return w * (max(s, 0) - s * y + log(1 + exp(-abs(s))))
        }
        for (r, t) in targets.enumerated() {
            let row = r * o
            if t.label != nil || t.sector != nil {
                var mx = -Float.infinity
                for j in 0..<c { mx = max(mx, z[row + j]) }
                var sum: Float = 0
                for j in 0..<c { p[j] = exp(z[row + j] - mx); sum += p[j] }
                for j in 0..<c { p[j] /= sum }
                if let label = t.label {
                    let cw = t.classWeight * t.weight
                    loss += cw * (log(sum) + mx - z[row + label])
                    for j in 0..<c { dz[row + j] = cw * p[j] * invB }
                    dz[row + label] -= cw * invB
                } else if let sector = t.sector {
                    // L = −log S, S = Σ m_j p_j: dL/dz_j = p_j − m_j p_j / S.
                    let m = Self.sectorShares[sector], sw = t.classWeight * t.weight
                    var share: Float = 0
                    for j in 0..<c { share += m[j] * p[j] }
                    share = max(share, 1e-12)
                    loss -= sw * log(share)
                    for j in 0..<c { dz[row + j] = sw * (p[j] - m[j] * p[j] / share) * invB }
                }
            }
            if let y = t.sarcasm {
                loss += binary(row + HeadsNetwork.sarcasmOutput, y, sarcasmWeight * (y > 0.5 ? sarcasmPositiveWeight : 1) * t.weight)
            }
            if let y = t.intensity {
                let pi = sigmoid(z[row + HeadsNetwork.intensityOutput]), w = intensityWeight * t.weight
                loss += w * (pi - y) * (pi - y)
                dz[row + HeadsNetwork.intensityOutput] = w * 2 * (pi - y) * pi * (1 - pi) * invB
            }
            if let y = t.neutral {
                loss += binary(row + HeadsNetwork.neutralOutput, y, neutralWeight * t.weight)
            }
        }
        return (loss * invB, dz)
    }
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
