/// The emoji channel of the heads: emoji are `[UNK]` to the BERT vocabulary, so the heads see
/// them as a bag of indicators over a fixed vocabulary chosen at training time.
public struct EmojiFeatures: Sendable, Equatable {
    /// Indicator features: one per vocabulary entry, then "any emoji" and "an emoji outside the vocabulary".
    public var values: [Float]
    /// The vocabulary indices present, in order of first appearance.
    public var indices: [Int]

    /// Extracts the features of `text` over `vocabulary`.
    public init(text: String, vocabulary: EmojiVocabulary) {
        var values = [Float](repeating: 0, count: vocabulary.featureCount)
        var indices: [Int] = []
        for e in Self.emoji(in: text) {
            values[vocabulary.count] = 1
            if let i = vocabulary.index[e] {
                values[i] = 1
                if !indices.contains(i) { indices.append(i) }
            } else {
                values[vocabulary.count + 1] = 1
            }
        }
        self.values = values
        self.indices = indices
    }

    /// Whether the text had any emoji, in the vocabulary or not.
    public var hasEmoji: Bool { values[values.count - 2] != 0 }

    /// No emoji at all (also what a text-only input looks like).
    public static func none(vocabulary: EmojiVocabulary) -> EmojiFeatures {
        EmojiFeatures(text: "", vocabulary: vocabulary)
    }

    /// Whether a character is an emoji: a pictographic symbol from U+203C up (so digits, `#`, `©`
    /// and dashes are not), with or without a presentation selector.
    public static func isEmoji(_ c: Character) -> Bool {
        guard let first = c.unicodeScalars.first else { return false }
        if c.unicodeScalars.contains(where: { $0.properties.isEmojiPresentation }) { return true }
        return first.properties.isEmoji && first.value >= 0x203C
    }

    /// The emoji in `text`, normalised: variation selectors and skin-tone modifiers removed.
    public static func emoji(in text: String) -> [String] {
        text.filter(isEmoji).map { c in
            var s = String.UnicodeScalarView()
            for u in c.unicodeScalars where !(u.value == 0xFE0F || u.value == 0xFE0E || (0x1F3FB...0x1F3FF).contains(u.value)) {
                s.append(u)
            }
            return String(s)
        }
    }

    /// Whether `text` has any emoji (`emoji(in:)` is not empty): the routing and evaluation split.
    public static func hasEmoji(in text: String) -> Bool { text.contains(where: isEmoji) }

    /// `text` with every emoji removed and the whitespace left behind collapsed: the text-only input.
    public static func strip(_ text: String) -> String {
        var out = ""
        var pendingSpace = false
        for c in text where !isEmoji(c) && c != "\u{200D}" && c != "\u{FE0F}" {
            if c.isWhitespace {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" "); pendingSpace = false }
                out.append(c)
            }
        }
        return out
    }
}

/// The fixed emoji vocabulary the heads were trained with (stored with their weights).
public struct EmojiVocabulary: Sendable, Codable, Equatable {
    /// The normalised emoji, in feature order.
    public let symbols: [String]
    let index: [String: Int]

    public init(symbols: [String]) {
        self.symbols = symbols
        var index: [String: Int] = [:]
        for (i, s) in symbols.enumerated() where index[s] == nil { index[s] = i }
        self.index = index
    }

    /// The emoji seen at least `minCount` times in `texts`, most frequent first (ties by code points).
    public init(texts: some Sequence<String>, minCount: Int = 2) {
        var counts: [String: Int] = [:]
        for t in texts { for e in EmojiFeatures.emoji(in: t) { counts[e, default: 0] += 1 } }
        let kept = counts.filter { $0.value >= minCount }.sorted {
            $0.value != $1.value ? $0.value > $1.value : Array($0.key.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.key.unicodeScalars.map(\.value))
        }
        self.init(symbols: kept.map(\.key))
    }

    /// The number of emoji in the vocabulary.
    public var count: Int { symbols.count }
    /// The width of an `EmojiFeatures` vector.
    public var featureCount: Int { symbols.count + 2 }

    public init(from decoder: any Decoder) throws {
        self.init(symbols: try decoder.singleValueContainer().decode([String].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(symbols)
    }

    public static func == (a: Self, b: Self) -> Bool { a.symbols == b.symbols }
}
