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

    /// A turn's words as the explanation ranks them.
    package struct Attribution: Sendable {
        /// The turn's ``attributionUnits(_:)`` in text order, each with its contribution: for the
        /// first `greedy` of `ranking`, what the label's probability loses when the unit is deleted
        /// after the units ranked above it; for the others, when it alone is deleted.
        package var units: [Explanation.Word]
        /// Indices into `units`, the unit that speaks most for the label first.
        package var ranking: [Int]
    }

    /// Deletion attribution through the whole model. Leave-one-word-out first: the texts with one
    /// of the turn's ``attributionUnits(_:)`` deleted are embedded by `embed` (all turns' in one
    /// call, as `TextEmbedder.embed(_:layers: encoderLayers)` vectors) and scored with the turn's
    /// own context; a unit's contribution is how much `emotions[i]`'s probability drops without it
    /// (positive: the unit speaks for the emotion). Then `greedy` rounds rank the top units by
    /// deleting them together: each round deletes the units already ranked plus each other unit
    /// in turn, and ranks next the one whose deletion lowers the probability most (units that
    /// carry the label together, such as "not" and "happy", rank together). The rest follow by
    /// their leave-one-out contribution. Each round is one more `embed` call.
    package func attributions(_ inputs: [HeadsInput], emotions: [PlutchikEmotion], greedy: Int = 3,
                              embed: ([String]) throws -> [[Float]]) rethrows -> [Attribution] {
        precondition(inputs.count == emotions.count)
        let units = inputs.map { Self.attributionUnits($0.text) }
        let base = zip(predict(inputs), emotions).map { $0.probabilities[$1.index] }
        /// The probability of each turn's label with `removed[i]` plus each candidate deleted.
        func deleting(_ removed: [[Int]], candidates: [[Int]]) throws -> [[Float]] {
            let texts = units.indices.map { i in candidates[i].map { Self.text(units[i], removing: Set(removed[i] + [$0])) } }
            let flat = texts.flatMap { $0 }
            let vectors = flat.isEmpty ? [] : try embed(flat)
            var offset = 0
            return inputs.indices.map { i in
                let n = texts[i].count
                defer { offset += n }
                return probabilities(of: emotions[i], inputs[i], texts: texts[i], vectors: Array(vectors[offset..<(offset + n)]))
            }
        }
        let single = try deleting(units.map { _ in [] }, candidates: units.map { Array($0.indices) })
        var contributions = inputs.indices.map { i in single[i].map { base[i] - $0 } }
        var ranked = units.map { _ in [Int]() }, reached = base
        for _ in 0..<greedy {
            let open = units.indices.map { i in units[i].indices.filter { !ranked[i].contains($0) } }
            guard open.contains(where: { !$0.isEmpty }) else { break }
            // The first round is the leave-one-out pass itself.
            let p = ranked.allSatisfy(\.isEmpty) ? single : try deleting(ranked, candidates: open)
            for i in inputs.indices where !open[i].isEmpty {
                let best = open[i].indices.min { p[i][$0] < p[i][$1] }!
                contributions[i][open[i][best]] = reached[i] - p[i][best]
                reached[i] = p[i][best]
                ranked[i].append(open[i][best])
            }
        }
        return inputs.indices.map { i in
            let rest = units[i].indices.filter { !ranked[i].contains($0) }.sorted { contributions[i][$0] > contributions[i][$1] }
            return Attribution(units: zip(units[i], contributions[i]).map { Explanation.Word(word: $0, contribution: $1) }, ranking: ranked[i] + rest)
        }
    }

    /// The words behind each of `emotions` in `inputs` (``attributions(_:emotions:greedy:embed:)``,
    /// every one of the `top` ranked greedily): the `top` that speak most for it, in rank order, each
    /// with what the label's probability loses when it is deleted after the words before it (so
    /// together they lose the sum), a word repeated in the turn given once (its first rank). `embed`
    /// embeds texts as `TextEmbedder.embed(_:layers: encoderLayers)` does.
    public func wordContributions(_ inputs: [HeadsInput], emotions: [PlutchikEmotion], top: Int = 3,
                                  embed: ([String]) throws -> [[Float]]) rethrows -> [[Explanation.Word]] {
        try attributions(inputs, emotions: emotions, greedy: top, embed: embed).map { a in
            var seen: Set<String> = []
            return Array(a.ranking.map { a.units[$0] }.filter { seen.insert($0.word).inserted }.prefix(top))
        }
    }
}
