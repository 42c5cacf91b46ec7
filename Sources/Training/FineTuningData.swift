import Contracts
import Emotion
import Encoder
import Foundation
import Tokenizer

/// A GoEmotions comment with its labels mapped onto Plutchik's wheel (JSONL rows of
/// `goemotions/{train,dev}.jsonl`).
struct GoEmotionsRow: Decodable, Sendable {
    var id: String
    var text: String
    /// Raw GoEmotions labels (of `goEmotionsLabels`).
    var goemotions: [String]
    /// The mapped Plutchik class, if the comment has one.
    var plutchik: String?
    /// The mapped Plutchik sector, if any.
    var sector: String?
    var neutral: Bool

    /// Reads a JSONL file; `limit` keeps the first rows only.
    static func load(_ url: URL, limit: Int? = nil) throws -> [GoEmotionsRow] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError(.fileNotFound, "cannot read \(url.path)", cause: error)
        }
        var rows: [GoEmotionsRow] = []
        let decoder = JSONDecoder()
        for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
            if let limit, rows.count >= limit { break }
            do { rows.append(try decoder.decode(GoEmotionsRow.self, from: Data(line))) } catch {
                throw ModelError(.invalidInput, "\(url.path):\(n + 1): \(error)")
            }
            let r = rows[rows.count - 1]
            if let p = r.plutchik, PlutchikEmotion(rawValue: p) == nil {
                throw ModelError(.invalidInput, "\(url.path):\(n + 1): plutchik '\(p)' is not one of the 32 Plutchik emotions")
            }
            if let s = r.sector, PlutchikSector.allCases.first(where: { $0.name == s }) == nil {
                throw ModelError(.invalidInput, "\(url.path):\(n + 1): sector '\(s)' is not one of the 8 Plutchik sectors")
            }
            if let bad = r.goemotions.first(where: { goEmotionsLabelIndex[$0] == nil }) {
                throw ModelError(.invalidInput, "\(url.path):\(n + 1): '\(bad)' is not one of the 28 GoEmotions labels")
            }
        }
        return rows
    }
}

/// The 28 GoEmotions labels in the dataset's order: the rows of the `head.goemotions` head.
let goEmotionsLabels = [
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity",
    "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear",
    "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief",
    "remorse", "sadness", "surprise", "neutral",
]
let goEmotionsLabelIndex = Dictionary(uniqueKeysWithValues: goEmotionsLabels.enumerated().map { ($1, $0) })

/// The 16 Plutchik classes GoEmotions labels map to: the classes its macro-F1 is taken over.
let goEmotionsMappedClasses: [PlutchikEmotion] = [
    .admiration, .anger, .annoyance, .disapproval, .disgust, .fear, .grief, .joy, .love, .optimism,
    .remorse, .sadness, .surprise, .acceptance, .interest, .apprehension,
]

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
    static func goEmotions(_ rows: [GoEmotionsRow], tokenizer: WordPieceTokenizer, maxLength: Int) -> [FineTuneExample] {
        rows.map { r in
            FineTuneExample(
                ids: tokenizer.encode(r.text, maxLength: maxLength),
                emotion: r.plutchik.flatMap { PlutchikEmotion(rawValue: $0)?.index } ?? -1,
                sector: r.sector.flatMap { s in PlutchikSector.allCases.first { $0.name == s }?.rawValue } ?? -1,
                neutral: r.neutral ? 1 : 0,
                goEmotions: r.goemotions.compactMap { goEmotionsLabelIndex[$0] })
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
/// `weight`, 32-way class cross-entropy, 8-way sector cross-entropy, neutral binary
/// cross-entropy and `goEmotionsWeight` × the summed binary cross-entropies of the 28 raw
/// labels, each where the row has that label; summed over rows and divided by B.
/// Writes ∂loss/∂logits into `dlogits` and returns the loss.
func fineTuneLoss(
    _ logits: UnsafePointer<Float>, _ examples: [FineTuneExample], goEmotionsWeight: Float,
    dlogits: UnsafeMutablePointer<Float>
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
        if e.neutral >= 0 { total += binary(z[FineTuneHeads.neutral], e.neutral == 1, &dz[FineTuneHeads.neutral], scale: w) }
        if let labels = e.goEmotions, goEmotionsWeight > 0 {
            for j in 0..<goEmotionsLabels.count {
                let o = FineTuneHeads.goEmotions.lowerBound + j
                total += binary(z[o], labels.contains(j), &dz[o], scale: w * goEmotionsWeight)
            }
        }
    }
    return total
}
