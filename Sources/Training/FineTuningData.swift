import Contracts
import Emotion
import Encoder
import Foundation
import Tokenizer

/// The 28 GoEmotions labels in the dataset's order: the rows of the `head.goemotions` head.
let goEmotionsLabels = GoEmotionsComment.rawLabels
let goEmotionsLabelIndex = Dictionary(uniqueKeysWithValues: goEmotionsLabels.enumerated().map { ($1, $0) })

/// The multitask heads over the pooled vector: rows of one (69, C) matrix.
enum FineTuneHeads {
    static let emotion = 0..<32
    static let sector = 32..<40
    static let neutral = 40
    static let goEmotions = 41..<69
    static let outputs = 69
}

/// One training or evaluation example: token ids (and, for seed turns, the emoji-stripped
/// ids), the labels it has (−1: none) and its loss weight.
struct FineTuneExample: Sendable {
    var ids: [Int32]
    /// The emoji-stripped variant (seed turns), shown with `stripProbability`.
    var strippedIDs: [Int32]?
    var emotion = -1
    var sector = -1
    /// 1 neutral, 0 not, −1 unlabelled (no loss).
    var neutral: Int8 = -1
    /// Indices into `goEmotionsLabels` that are set; nil: no multi-label loss.
    var goEmotions: [Int]?
    /// Factor on the row's loss (the seed corpus's source weight).
    var weight: Float = 1

    /// GoEmotions rows: class, sector, neutral and the 28 raw labels.
    static func goEmotions(_ rows: [GoEmotionsComment], tokenizer: WordPieceTokenizer, maxLength: Int) -> [FineTuneExample] {
        rows.map { r in
            FineTuneExample(
                ids: tokenizer.encode(r.text, maxLength: maxLength),
                emotion: r.emotion?.index ?? -1,
                sector: r.sector?.rawValue ?? -1,
                neutral: r.neutral ? 1 : 0,
                goEmotions: r.labels.compactMap { goEmotionsLabelIndex[$0] })
        }
    }

    /// Seed dialogue turns: the 32-way class only (no neutral label: the seed set labels every
    /// turn with an emotion, which says nothing about GoEmotions' notion of neutral).
    static func seed(_ turns: [LabelledTurn], tokenizer: WordPieceTokenizer, maxLength: Int, weight: Float) -> [FineTuneExample] {
        turns.map { t in
            let stripped = EmojiFeatures.strip(t.text)
            return FineTuneExample(
                ids: tokenizer.encode(t.text, maxLength: maxLength),
                strippedIDs: stripped == t.text ? nil : tokenizer.encode(stripped, maxLength: maxLength),
                emotion: t.emotion.index, weight: weight)
        }
    }
}

/// The multitask loss of a batch from the head logits, (B, 69): per row, weighted by its
/// `weight`, 32-way class cross-entropy, 8-way sector cross-entropy, `neutralWeight` × the neutral
/// binary cross-entropy and `goEmotionsWeight` × the summed binary cross-entropies of the 28 raw
/// labels, each where the row has that label; summed over rows and divided by B.
/// Writes ∂loss/∂logits into `dlogits` and returns the loss.
func fineTuneLoss(
    _ logits: UnsafePointer<Float>, _ examples: [FineTuneExample], goEmotionsWeight: Float,
    neutralWeight: Float = 1, dlogits: UnsafeMutablePointer<Float>
) -> Double {
    let k = FineTuneHeads.outputs
    let b = examples.count
    dlogits.update(repeating: 0, count: b * k)
    var total = 0.0
    let invB = 1 / Float(b)
    func crossEntropy(_ z: UnsafePointer<Float>, _ dz: UnsafeMutablePointer<Float>, range: Range<Int>, label: Int, scale: Float) -> Double {
        var m = -Float.infinity
        for j in range { m = max(m, z[j]) }
        var s = 0.0
        for j in range { s += Double(exp(z[j] - m)) }
        for j in range { dz[j] += scale * Float(Double(exp(z[j] - m)) / s) }
        dz[range.lowerBound + label] -= scale
        return (log(s) + Double(m) - Double(z[range.lowerBound + label])) * Double(scale)
    }
    func binary(_ z: Float, _ y: Bool, _ dz: inout Float, scale: Float) -> Double {
        let sig = 1 / (1 + exp(-z))
        dz += scale * (sig - (y ? 1 : 0))
        // softplus(z) − y·z, stable
        let sp = Double(max(z, 0)) + log1p(exp(-Double(abs(z))))
        return (sp - (y ? Double(z) : 0)) * Double(scale)
    }
    for (i, e) in examples.enumerated() {
        let z = logits + i * k, dz = dlogits + i * k
        let w = e.weight * invB
        if e.emotion >= 0 { total += crossEntropy(z, dz, range: FineTuneHeads.emotion, label: e.emotion, scale: w) }
        if e.sector >= 0 { total += crossEntropy(z, dz, range: FineTuneHeads.sector, label: e.sector, scale: w) }
        if e.neutral >= 0 { total += binary(z[FineTuneHeads.neutral], e.neutral == 1, &dz[FineTuneHeads.neutral], scale: w * neutralWeight) }
        if let labels = e.goEmotions, goEmotionsWeight > 0 {
            for j in 0..<goEmotionsLabels.count {
                let o = FineTuneHeads.goEmotions.lowerBound + j
                total += binary(z[o], labels.contains(j), &dz[o], scale: w * goEmotionsWeight)
            }
        }
    }
    return total
}
