import Contracts
import Foundation
import Kernels

/// The four dense matrices of a layer that carry a LoRA adapter.
package enum LoRATarget: Int, CaseIterable, Sendable {
    case qkv, attnOut, ffnIn, ffnOut

    /// (out, in) of the base matrix.
    package func shape(_ cf: MiniLMConfig) -> (out: Int, in: Int) {
        switch self {
        case .qkv: (3 * cf.hidden, cf.hidden)
        case .attnOut: (cf.hidden, cf.hidden)
        case .ffnIn: (cf.ffn, cf.hidden)
        case .ffnOut: (cf.hidden, cf.ffn)
        }
    }

    /// The adapter tensors' name prefix in layer `l`. The query, key and value matrices are fused
    /// into one (3C, C) matrix (their rows stacked in that order), so they share one adapter.
    package func name(layer l: Int) -> String {
        let p = "encoder.layer.\(l)."
        switch self {
        case .qkv: return p + "attention.self.qkv"
        case .attnOut: return p + "attention.output.dense"
        case .ffnIn: return p + "intermediate.dense"
        case .ffnOut: return p + "output.dense"
        }
    }
}

/// The trainable vectors of a layer (biases and layernorm parameters), in block order.
package enum LayerVector: Int, CaseIterable, Sendable {
    case qkvBias, attnOutBias, ln1Gain, ln1Bias, ffnInBias, ffnOutBias, ln2Gain, ln2Bias

    package func count(_ cf: MiniLMConfig) -> Int {
        switch self {
        case .qkvBias: 3 * cf.hidden
        case .ffnInBias: cf.ffn
        default: cf.hidden
        }
    }

    /// The base checkpoint's tensor names for this vector (the fused QKV bias is three tensors).
    package func baseNames(layer l: Int) -> [String] {
        let p = "encoder.layer.\(l)."
        switch self {
        case .qkvBias: return ["query", "key", "value"].map { p + "attention.self.\($0).bias" }
        case .attnOutBias: return [p + "attention.output.dense.bias"]
        case .ln1Gain: return [p + "attention.output.LayerNorm.weight"]
        case .ln1Bias: return [p + "attention.output.LayerNorm.bias"]
        case .ffnInBias: return [p + "intermediate.dense.bias"]
        case .ffnOutBias: return [p + "output.dense.bias"]
        case .ln2Gain: return [p + "output.LayerNorm.weight"]
        case .ln2Bias: return [p + "output.LayerNorm.bias"]
        }
    }

    /// The base weights' pointer for this vector.
    package func pointer(_ w: MiniLMLayerWeights) -> UnsafeMutablePointer<Float> {
        switch self {
        case .qkvBias: w.qkvB
        case .attnOutBias: w.attnOutB
        case .ln1Gain: w.ln1G
        case .ln1Bias: w.ln1B
        case .ffnInBias: w.ffnInB
        case .ffnOutBias: w.ffnOutB
        case .ln2Gain: w.ln2G
        case .ln2Bias: w.ln2B
        }
    }
}

/// Offsets of every trainable tensor in one float block: per trained layer the LoRA A and B of
/// each target, then the layer's vectors; then the linear heads on the pooled vector.
package struct TrainableLayout: Sendable {
    package let config: MiniLMConfig
    package let rank: Int
    /// Layers `firstTrained..<config.layers` are trained.
    package let firstTrained: Int
    /// Outputs of the linear heads (rows of the head matrix).
    package let headOutputs: Int
    /// Per trained layer, per target: offsets of A (r, in) and B (out, r).
    package let loraA: [[Int]], loraB: [[Int]]
    /// Per trained layer, per `LayerVector`: offset.
    package let vectors: [[Int]]
    package let headW: Int      // (headOutputs, C)
    package let headB: Int      // (headOutputs)
    package let count: Int

    package init(config cf: MiniLMConfig, rank: Int, trainedLayers: Int, headOutputs: Int) {
        precondition((0...cf.layers).contains(trainedLayers) && rank >= 0 && headOutputs >= 0)
        config = cf
        self.rank = rank
        firstTrained = cf.layers - trainedLayers
        self.headOutputs = headOutputs
        var next = 0
        var a: [[Int]] = [], b: [[Int]] = [], v: [[Int]] = []
        for _ in 0..<trainedLayers {
            var la: [Int] = [], lb: [Int] = []
            for t in LoRATarget.allCases {
                let (o, i) = t.shape(cf)
                la.append(next); next += rank * i
                lb.append(next); next += o * rank
            }
            var lv: [Int] = []
            for vec in LayerVector.allCases { lv.append(next); next += vec.count(cf) }
            a.append(la); b.append(lb); v.append(lv)
        }
        loraA = a; loraB = b; vectors = v
        headW = next; next += headOutputs * cf.hidden
        headB = next; next += headOutputs
        count = next
    }

    package var trainedLayers: Int { config.layers - firstTrained }

    /// The LoRA matrices' ranges (decayed, trained at the adapter learning rate).
    package var loraRanges: [Range<Int>] {
        (0..<trainedLayers).map { t in
            let first = loraA[t][0]
            return first..<vectors[t][0]
        }
    }

    /// The biases' and layernorms' ranges (not decayed).
    package var vectorRanges: [Range<Int>] {
        (0..<trainedLayers).map { t in vectors[t][0]..<(t + 1 < trainedLayers ? loraA[t + 1][0] : headW) }
    }
}
