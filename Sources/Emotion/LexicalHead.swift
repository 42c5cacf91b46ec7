import Foundation
import Contracts

/// A linear emotion classifier over the word channel (`LexicalVocabulary`), added to the heads'
/// emotion logits for turns without emoji, where the heads have only the text to go on.
///
/// Trained apart from the heads, as class-balanced multinomial logistic regression with an L2
/// penalty: inside the MLP the sparse word features overfit (val text-only macro-F1 0.405–0.432
/// for scales 0.5–8), while a separate linear model is well regularised and its errors differ
/// from the embedding-based heads'.
public struct LexicalHead: Sendable, Equatable {
    public var vocabulary: LexicalVocabulary
    /// (32, W) row-major, then (32).
    var weights: [Float]
    var bias: [Float]
    /// The factor on these logits when they are added to the heads'.
    public var fusionWeight: Float

    init(vocabulary: LexicalVocabulary, weights: [Float], bias: [Float], fusionWeight: Float) {
        precondition(weights.count == PlutchikEmotion.count * vocabulary.count && bias.count == PlutchikEmotion.count)
        self.vocabulary = vocabulary
        self.weights = weights
        self.bias = bias
        self.fusionWeight = fusionWeight
    }

    /// The 32 emotion logits of `text` (before `fusionWeight`).
    func logits(_ text: String) -> [Float] {
        logits(sparse: vocabulary.features(text))
    }

    func logits(sparse x: [(index: Int, value: Float)]) -> [Float] {
        let w = vocabulary.count
        return (0..<PlutchikEmotion.count).map { k in
            x.reduce(bias[k]) { $0 + weights[k * w + $1.index] * $1.value }
        }
    }

    /// Adds `fusionWeight` × these logits to the emotion outputs of each row of `z` (B, 35) whose
    /// turn has no emoji.
    package func fuse(into z: inout [Float], texts: [String], hasEmoji: [Bool]) {
        let o = HeadsNetwork.outputs
        for (r, text) in texts.enumerated() where !hasEmoji[r] {
            for (k, v) in logits(text).enumerated() { z[r * o + k] += fusionWeight * v }
        }
    }

    /// Fits the weights to `texts` and `labels` (emotion indices) by full-batch Adam on `loss`.
    package static func train(texts: [String], labels: [Int], vocabulary: LexicalVocabulary, l2: Float,
                      iterations: Int = 400, learningRate: Float = 0.05) -> LexicalHead {
        let c = PlutchikEmotion.count, w = vocabulary.count
        let xs = texts.map { vocabulary.features($0) }
        var head = LexicalHead(vocabulary: vocabulary, weights: .init(repeating: 0, count: c * w),
                               bias: .init(repeating: 0, count: c), fusionWeight: 1)
        var m = [Float](repeating: 0, count: c * w + c), v = m
        for t in 1...iterations {
            let g = head.loss(xs, labels, l2: l2).gradient
            let c1 = 1 - pow(0.9, Float(t)), c2 = 1 - pow(0.999, Float(t))
            for i in g.indices {
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let step = learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
                if i < c * w { head.weights[i] -= step } else { head.bias[i - c * w] -= step }
            }
        }
        return head
    }

    /// Σ cw·cross-entropy / Σ cw + l2/2·‖W‖², with class weights cw = mean count / class count, and
    /// its gradient: (32, W) for the weights, then (32) for the bias.
    func loss(_ xs: [[(index: Int, value: Float)]], _ labels: [Int], l2: Float) -> (loss: Float, gradient: [Float]) {
        let c = PlutchikEmotion.count, w = vocabulary.count
        var counts = [Float](repeating: 0, count: c)
        for y in labels { counts[y] += 1 }
        let classWeight = counts.map { $0 > 0 ? Float(labels.count) / Float(c) / $0 : 0 }
        let total = labels.reduce(Float(0)) { $0 + classWeight[$1] }
        var loss: Float = 0
        var g = [Float](repeating: 0, count: c * w + c)
        for (x, y) in zip(xs, labels) {
            var z = logits(sparse: x)
            let mx = z.max()!
            var sum: Float = 0
            for k in 0..<c { z[k] = exp(z[k] - mx); sum += z[k] }
            let s = classWeight[y] / total
            loss -= s * log(z[y] / sum)
            for k in 0..<c {
                let dz = s * (z[k] / sum - (k == y ? 1 : 0))
                g[c * w + k] += dz
                for (j, xj) in x { g[k * w + j] += dz * xj }
            }
        }
        for i in 0..<(c * w) {
            loss += l2 / 2 * weights[i] * weights[i]
            g[i] += l2 * weights[i]
        }
        return (loss, g)
    }
}

extension LexicalHead {
    /// How the head is described in the heads' `manifest.json`; its weights (little-endian
    /// float32: W (32, words), b (32)) are in `weightsFile`.
    public struct Manifest: Sendable, Codable, Equatable {
        public var vocabulary: LexicalVocabulary
        public var fusionWeight: Float
        public var l2: Float
        public var weightsFile: String
        public var weightsSHA256: String

        package init(vocabulary: LexicalVocabulary, fusionWeight: Float, l2: Float, weightsFile: String, weightsSHA256: String) {
            self.vocabulary = vocabulary; self.fusionWeight = fusionWeight; self.l2 = l2; self.weightsFile = weightsFile; self.weightsSHA256 = weightsSHA256
        }

        enum CodingKeys: String, CodingKey {
            case vocabulary, fusionWeight = "fusion_weight", l2, weightsFile = "weights_file", weightsSHA256 = "weights_sha256"
        }
    }

    package var weightData: Data { littleEndianFloats(weights + bias) }

    /// Reads the weights a manifest names from `directory`.
    init(manifest: Manifest, directory: URL) throws {
        let url = directory.appendingPathComponent(manifest.weightsFile)
        let floats = try readLittleEndianFloats(url, count: PlutchikEmotion.count * (manifest.vocabulary.count + 1))
        let split = PlutchikEmotion.count * manifest.vocabulary.count
        self.init(vocabulary: manifest.vocabulary, weights: Array(floats[..<split]), bias: Array(floats[split...]),
                  fusionWeight: manifest.fusionWeight)
    }
}

/// `values` as little-endian float32 bytes.
func littleEndianFloats(_ values: [Float]) -> Data {
    var data = Data(capacity: values.count * 4)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    return data
}

/// `values` rounded to IEEE half floats, as little-endian bytes.
func littleEndianHalfs(_ values: [Float]) -> Data {
    var data = Data(capacity: values.count * 2)
    for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    return data
}

/// Reads exactly `count` little-endian half floats from `url`, as Float.
func readLittleEndianHalfs(_ url: URL, count: Int) throws -> [Float] {
    guard let data = try? Data(contentsOf: url) else { throw ModelError(.fileNotFound, "cannot read \(url.path)") }
    guard data.count == count * 2 else {
        throw ModelError(.invalidFile, "\(url.path) has \(data.count) bytes; expected \(count * 2)")
    }
    return data.withUnsafeBytes { raw in
        (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
    }
}

/// Reads exactly `count` little-endian float32 values from `url`.
func readLittleEndianFloats(_ url: URL, count: Int) throws -> [Float] {
    guard let data = try? Data(contentsOf: url) else { throw ModelError(.fileNotFound, "cannot read \(url.path)") }
    guard data.count == count * 4 else {
        throw ModelError(.invalidFile, "\(url.path) has \(data.count) bytes; expected \(count * 4)")
    }
    return data.withUnsafeBytes { raw in
        (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }
}
