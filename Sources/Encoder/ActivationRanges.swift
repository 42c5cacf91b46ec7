import Foundation

/// The largest |value| each input channel of each dense layer took over a calibration set, as
/// the fp32 encoder computed it: what SmoothQuant's factors are made from.
public struct ActivationRanges: Sendable {
    /// The dense layers of one transformer layer, in forward order.
    public enum Matrix: Int, CaseIterable, Sendable { case qkv, attnOut, ffnIn, ffnOut }

    /// [layer][matrix] (K) channel maxima.
    var maxima: [[[Float]]]

    init(layers: Int, hidden: Int, ffn: Int) {
        maxima = (0..<layers).map { _ in Matrix.allCases.map { [Float](repeating: 0, count: $0 == .ffnOut ? ffn : hidden) } }
    }

    /// Takes in the rows of one matrix's input, (rows, K).
    mutating func record(_ layer: Int, _ matrix: Matrix, _ x: UnsafePointer<Float>, rows: Int) {
        maxima[layer][matrix.rawValue].withUnsafeMutableBufferPointer { m in
            let k = m.count
            for r in 0..<rows {
                let row = x + r * k
                for j in 0..<k { m[j] = max(m[j], abs(row[j])) }
            }
        }
    }

    /// SmoothQuant's factors for one matrix, s_j = max|X_j|^α / max|W_·j|^(1−α), 1 where either is
    /// 0; `weightMaxima` from `PackedInt8Matrix.inputChannelMaxima`.
    func smoothing(_ layer: Int, _ matrix: Matrix, weightMaxima wmax: [Float], alpha: Float) -> [Float] {
        let x = maxima[layer][matrix.rawValue]
        return x.indices.map { j in
            x[j] > 0 && wmax[j] > 0 ? powf(x[j], alpha) / powf(wmax[j], 1 - alpha) : 1
        }
    }
}
