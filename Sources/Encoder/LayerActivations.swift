import Contracts
import Foundation
import Kernels

/// Saved activations of one layer for `N` packed tokens (pointers into one block).
package struct LayerActivations {
    package var qkv: UnsafeMutablePointer<Float>      // (N, 3C)
    package var probs: UnsafeMutablePointer<Float>    // per sequence, per head: (T, T) softmax
    package var ctx: UnsafeMutablePointer<Float>      // (N, C) attention output
    package var y1: UnsafeMutablePointer<Float>       // (N, C) attention-out linear + residual, pre-LN
    package var ln1Mean: UnsafeMutablePointer<Float>  // (N)
    package var ln1Rstd: UnsafeMutablePointer<Float>  // (N)
    package var x1: UnsafeMutablePointer<Float>       // (N, C) LN1 output
    package var h: UnsafeMutablePointer<Float>        // (N, F) FFN-in pre-GELU
    package var g: UnsafeMutablePointer<Float>        // (N, F) GELU(h)
    package var y2: UnsafeMutablePointer<Float>       // (N, C) FFN-out + residual, pre-LN
    package var ln2Mean: UnsafeMutablePointer<Float>  // (N)
    package var ln2Rstd: UnsafeMutablePointer<Float>  // (N)
    package var out: UnsafeMutablePointer<Float>      // (N, C) LN2 output: the layer's output

    package static func floats(tokens n: Int, probs: Int, _ cf: MiniLMConfig) -> Int {
        n * (3 * cf.hidden + 5 * cf.hidden + 2 * cf.ffn + 4) + probs
    }

    package init(_ p: UnsafeMutablePointer<Float>, tokens n: Int, probs probCount: Int, _ cf: MiniLMConfig) {
        let c = cf.hidden, f = cf.ffn
        var next = p
        func take(_ k: Int) -> UnsafeMutablePointer<Float> { defer { next += k }; return next }
        qkv = take(n * 3 * c); probs = take(probCount); ctx = take(n * c); y1 = take(n * c)
        ln1Mean = take(n); ln1Rstd = take(n); x1 = take(n * c); h = take(n * f); g = take(n * f)
        y2 = take(n * c); ln2Mean = take(n); ln2Rstd = take(n); out = take(n * c)
    }
}

// MARK: - Free functions: one layer forward and backward.
