import Foundation

/// Lays out the heads' input vector for one turn:
///
///   [embedding (E) | encoder layer features (L) | previous turn's embedding (E) | summary of earlier turns (E) |
///    has-previous, speaker-change, log turn position (3) | emoji (V + 2) | previous turn's emoji (V)]
///
/// Embeddings are multiplied by `embeddingScale` (0.5 in the committed heads; larger values let the
/// embeddings drown the emoji channel: 4 gave val macro-F1 0.57, 1 gave 0.76, 0.5 gave 0.79).
package struct HeadsFeatureBuilder: Sendable, Equatable {
    package var embeddingDimension: Int
    package var vocabulary: EmojiVocabulary
    var embeddingScale: Float = 0.5
    /// Width of the current turn's encoder layer features (mean-pooled hidden states), 0 without.
    package var layerDimension: Int = 0

    package var count: Int { 3 * embeddingDimension + layerDimension + 3 + vocabulary.featureCount + vocabulary.count }
    /// Where the dialogue context (previous turn, summary, has-previous, speaker change, position) lies.
    package var contextRange: Range<Int> { (embeddingDimension + layerDimension)..<(3 * embeddingDimension + layerDimension + 3) }
    /// Where the current turn's emoji indicators start.
    package var emojiOffset: Int { 3 * embeddingDimension + layerDimension + 3 }

    /// Writes the features into `out[0..<count]`.
    package func write(into out: inout ArraySlice<Float>, embedding: [Float], layerFeatures: [Float] = [], emoji: EmojiFeatures,
               context: DialogueContext, speaker: String) {
        precondition(embedding.count == embeddingDimension, "embedding has \(embedding.count) values; expected \(embeddingDimension)")
        precondition(layerFeatures.count == layerDimension, "layer features have \(layerFeatures.count) values; expected \(layerDimension)")
        var i = out.startIndex
        func put(_ v: Float) { out[i] = v; i += 1 }
        for v in embedding { put(v * embeddingScale) }
        for v in layerFeatures { put(v) }
        for vector in [context.previous, context.summary] {
            if let vector { for v in vector.floats { put(v * embeddingScale) } } else { for _ in 0..<embeddingDimension { put(0) } }
        }
        put(context.turns > 0 ? 1 : 0)
        put(context.previousSpeaker.map { $0 != speaker ? 1 : 0 } ?? 0)
        put(log(1 + Float(context.turns)) / log(10))
        for v in emoji.values { put(v) }
        let start = i
        for _ in 0..<vocabulary.count { put(0) }
        for k in context.previousEmoji where k < vocabulary.count { out[start + k] = 1 }
    }

    package func features(embedding: [Float], layerFeatures: [Float] = [], emoji: EmojiFeatures, context: DialogueContext, speaker: String) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var slice = out[...]
        write(into: &slice, embedding: embedding, layerFeatures: layerFeatures, emoji: emoji, context: context, speaker: speaker)
        out = Array(slice)
        return out
    }
    package init(embeddingDimension: Int, vocabulary: EmojiVocabulary, embeddingScale: Float = 0.5, layerDimension: Int = 0) {
        self.embeddingDimension = embeddingDimension; self.vocabulary = vocabulary; self.embeddingScale = embeddingScale; self.layerDimension = layerDimension
    }

}
