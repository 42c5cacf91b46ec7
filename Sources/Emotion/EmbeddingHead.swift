import Foundation
import Contracts

/// A linear classifier over the sentence embedding: 32 class logits, 8 sector logits and the
/// neutral gate's logit. For turns without emoji it is fused into the heads' outputs: the class
/// logits and each class's share of the sector logits are added (weighted by `classWeight` and
/// `sectorWeight` within a dialogue, by `firstTurnClassWeight` and `firstTurnSectorWeight` for a
/// dialogue's first turn, which has no context for the heads to read), and its neutral logit is
/// added to the heads' neutral logit scaled by `gateKeep` (the blend Platt-calibrated as a whole;
/// 0: the head's gate replaces the heads').
///
/// Trained apart from the heads, as L2-regularised logistic regression (`plutchik
/// train-embedding-head`): the MLP over the layer features overfits the comments a little, while
/// a linear model on the fine-tuned encoder's embedding is what that encoder was tuned for.
public struct EmbeddingHead: Sendable, Equatable {
    /// Rows of `weights`: the 32 classes, the 8 sectors, then the neutral gate.
    package static let outputs = PlutchikEmotion.count + 8 + 1
    package static let neutralRow = PlutchikEmotion.count + 8

    /// (41, E) row-major, then (41).
    var weights: [Float]
    var bias: [Float]
    /// The factors on the class and the sector logits when they are added to the heads' (turns
    /// with earlier turns in their dialogue).
    public var classWeight: Float
    public var sectorWeight: Float
    /// The same for a dialogue's first turn (a single message among them).
    public var firstTurnClassWeight: Float
    public var firstTurnSectorWeight: Float
    /// The factor on the heads' own neutral logit in the fused gate.
    public var gateKeep: Float

    package init(weights: [Float], bias: [Float], classWeight: Float, sectorWeight: Float, gateKeep: Float = 0,
                 firstTurnClassWeight: Float? = nil, firstTurnSectorWeight: Float? = nil) {
        precondition(bias.count == Self.outputs && weights.count % Self.outputs == 0)
        self.weights = weights
        self.bias = bias
        self.classWeight = classWeight
        self.sectorWeight = sectorWeight
        self.firstTurnClassWeight = firstTurnClassWeight ?? classWeight
        self.firstTurnSectorWeight = firstTurnSectorWeight ?? sectorWeight
        self.gateKeep = gateKeep
    }

    /// The embedding width.
    var dimension: Int { weights.count / Self.outputs }

    /// The 41 logits of one embedding (E).
    package func logits(_ embedding: [Float]) -> [Float] {
        let e = dimension
        precondition(embedding.count == e, "expected an embedding of \(e) values")
        return (0..<Self.outputs).map { k in
            var s = bias[k]
            for j in 0..<e { s += weights[k * e + j] * embedding[j] }
            return s
        }
    }

    /// Adds this head to each row of `z` (B, 35) whose turn has no emoji: class logits plus the
    /// class's share of its sectors' logits (a dyad takes half of each), weighted by the row's
    /// route (`firstTurn`), and the neutral logit plus `gateKeep` × the heads'.
    package func fuse(into z: inout [Float], embeddings: [[Float]], hasEmoji: [Bool], firstTurn: [Bool]) {
        fuse(into: &z, logits: embeddings.enumerated().map { hasEmoji[$0.offset] ? [] : logits($0.element) },
             hasEmoji: hasEmoji, firstTurn: firstTurn)
    }

    /// `fuse(into:embeddings:hasEmoji:firstTurn:)` with this head's logits (B × 41) already computed.
    package func fuse(into z: inout [Float], logits: [[Float]], hasEmoji: [Bool], firstTurn: [Bool]) {
        let o = HeadsNetwork.outputs, c = PlutchikEmotion.count
        for (r, l) in logits.enumerated() where !hasEmoji[r] {
            let (cw, sw) = firstTurn[r] ? (firstTurnClassWeight, firstTurnSectorWeight) : (classWeight, sectorWeight)
            for k in 0..<c {
                let sectors = PlutchikEmotion(index: k).sectors
                let share = sectors.reduce(Float(0)) { $0 + l[c + $1.rawValue] } / Float(sectors.count)
                z[r * o + k] += cw * l[k] + sw * share
            }
            z[r * o + HeadsNetwork.neutralOutput] = gateKeep * z[r * o + HeadsNetwork.neutralOutput] + l[Self.neutralRow]
        }
    }

    /// Row `k` of the weights (E) and its bias.
    package func row(_ k: Int) -> (weights: [Float], bias: Float) {
        (Array(weights[(k * dimension)..<((k + 1) * dimension)]), bias[k])
    }

    package var weightData: Data { littleEndianFloats(weights + bias) }

    /// The head with its neutral logit s replaced by a·s + b (Platt scaling).
    package func scalingNeutral(a: Float, b: Float) -> EmbeddingHead {
        var head = self
        let e = dimension
        for j in 0..<e { head.weights[Self.neutralRow * e + j] *= a }
        head.bias[Self.neutralRow] = a * bias[Self.neutralRow] + b
        return head
    }
}

extension EmbeddingHead {
    /// How the head is described in the heads' `manifest.json`; its weights (little-endian
    /// float32: W (41, E), b (41)) are in `weightsFile`.
    public struct Manifest: Sendable, Codable, Equatable {
        public var classWeight: Float
        public var sectorWeight: Float
        /// Absent in heads before heads-8.2: the first turn is weighted like the others.
        public var firstTurnClassWeight: Float?
        public var firstTurnSectorWeight: Float?
        public var gateKeep: Float
        public var l2: Float
        /// The neutral row's L2 penalty; absent before heads-8.3, when it was `l2`.
        public var neutralL2: Float?
        public var weightsFile: String
        public var weightsSHA256: String

        package init(classWeight: Float, sectorWeight: Float, firstTurnClassWeight: Float? = nil, firstTurnSectorWeight: Float? = nil,
                     gateKeep: Float, l2: Float, neutralL2: Float? = nil, weightsFile: String, weightsSHA256: String) {
            self.classWeight = classWeight; self.sectorWeight = sectorWeight; self.gateKeep = gateKeep; self.l2 = l2; self.neutralL2 = neutralL2
            self.firstTurnClassWeight = firstTurnClassWeight; self.firstTurnSectorWeight = firstTurnSectorWeight
            self.weightsFile = weightsFile; self.weightsSHA256 = weightsSHA256
        }

        enum CodingKeys: String, CodingKey {
            case classWeight = "class_weight", sectorWeight = "sector_weight", gateKeep = "gate_keep"
            case firstTurnClassWeight = "first_turn_class_weight", firstTurnSectorWeight = "first_turn_sector_weight", l2
            case neutralL2 = "neutral_l2", weightsFile = "weights_file", weightsSHA256 = "weights_sha256"
        }
    }

    /// Reads the weights a manifest names from `directory`, for embeddings of `dimension` values.
    init(manifest: Manifest, directory: URL, dimension: Int) throws {
        let url = directory.appendingPathComponent(manifest.weightsFile)
        let floats = try readLittleEndianFloats(url, count: Self.outputs * (dimension + 1))
        let split = Self.outputs * dimension
        self.init(weights: Array(floats[..<split]), bias: Array(floats[split...]),
                  classWeight: manifest.classWeight, sectorWeight: manifest.sectorWeight, gateKeep: manifest.gateKeep,
                  firstTurnClassWeight: manifest.firstTurnClassWeight, firstTurnSectorWeight: manifest.firstTurnSectorWeight)
    }
}
