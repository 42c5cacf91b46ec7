import Contracts

extension EmotionHeads {
    /// The most units a turn is split into for attribution: a longer turn's words are merged into
    /// this many runs of consecutive words, so an explanation costs at most this many encoder passes.
    package static let maxAttributionUnits = 32

    /// The units a turn's words are attributed over: its whitespace-separated words as the reader
    /// sees them (punctuation and emoji stay with their word), or, past
    /// ``maxAttributionUnits``, runs of consecutive words.
    package static func attributionUnits(_ text: String) -> [String] {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard words.count > maxAttributionUnits else { return words }
        let size = (words.count + maxAttributionUnits - 1) / maxAttributionUnits
        return stride(from: 0, to: words.count, by: size).map { words[$0..<min($0 + size, words.count)].joined(separator: " ") }
    }

    /// The text of `units` but those at `removed` (or only those at `kept`, when given), in order.
    package static func text(_ units: [String], removing removed: Set<Int> = [], keeping kept: Set<Int>? = nil) -> String {
        units.indices.filter { kept?.contains($0) ?? !removed.contains($0) }.map { units[$0] }.joined(separator: " ")
    }

    /// The probability of `emotion` when `input`'s turn reads each of `texts` instead: each text
    /// embedded (by `vectors`, `TextEmbedder.embed(_:layers: encoderLayers)` vectors in the same
    /// order) and scored with the turn's own dialogue context and speaker, in one pass.
    package func probabilities(of emotion: PlutchikEmotion, _ input: HeadsInput, texts: [String], vectors: [[Float]]) -> [Float] {
        precondition(texts.count == vectors.count)
        let variants = zip(texts, vectors).map { text, vector in
            let (embedding, layerFeatures) = split(vector)
            return HeadsInput(embedding: embedding, layerFeatures: layerFeatures, text: text, emojiFeatures: emojiFeatures(text: text),
                              context: input.context, speaker: input.speaker)
        }
        return predict(variants).map { $0.probabilities[emotion.index] }
    }

    /// Leave-one-word-out attribution through the whole model: for each turn, the texts with one of
    /// its ``attributionUnits(_:)`` deleted are embedded by `embed` (all turns' in one call, as
    /// `TextEmbedder.embed(_:layers: encoderLayers)` vectors) and scored with the turn's own context,
    /// and a unit's contribution is how much `emotions[i]`'s probability drops without it
    /// (positive: the unit speaks for the emotion). One entry per unit, in text order.
    package func unitContributions(_ inputs: [HeadsInput], emotions: [PlutchikEmotion],
                                   embed: ([String]) throws -> [[Float]]) rethrows -> [[Explanation.Word]] {
        precondition(inputs.count == emotions.count)
        let units = inputs.map { Self.attributionUnits($0.text) }
        let texts = units.flatMap { u in u.indices.map { Self.text(u, removing: [$0]) } }
        let vectors = texts.isEmpty ? [] : try embed(texts)
        let full = predict(inputs)
        var offset = 0
        return inputs.indices.map { i in
            let n = units[i].count
            defer { offset += n }
            let p = probabilities(of: emotions[i], inputs[i], texts: Array(texts[offset..<(offset + n)]), vectors: Array(vectors[offset..<(offset + n)]))
            let base = full[i].probabilities[emotions[i].index]
            return zip(units[i], p).map { Explanation.Word(word: $0, contribution: base - $1) }
        }
    }

    /// The words behind each of `emotions` in `inputs` (``unitContributions(_:emotions:embed:)``):
    /// the `top` that speak most for it, largest first, a word repeated in the turn given once
    /// (its largest). `embed` embeds texts as `TextEmbedder.embed(_:layers: encoderLayers)` does;
    /// every turn's word deletions go through it in one call.
    public func wordContributions(_ inputs: [HeadsInput], emotions: [PlutchikEmotion], top: Int = 5,
                                  embed: ([String]) throws -> [[Float]]) rethrows -> [[Explanation.Word]] {
        try unitContributions(inputs, emotions: emotions, embed: embed).map { words in
            var seen: Set<String> = []
            return Array(words.sorted { $0.contribution > $1.contribution }.filter { seen.insert($0.word).inserted }.prefix(top))
        }
    }
}
