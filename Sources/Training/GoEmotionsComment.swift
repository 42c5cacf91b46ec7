import Contracts

import Foundation

/// A row of GoEmotions mapped onto Plutchik's wheel (JSONL with `id`, `text`, `goemotions`,
/// `plutchik`, `sector`, `neutral`; other fields are ignored): a single real comment, no dialogue.
///
/// `emotion` is set when every GoEmotions label of the row maps to the same Plutchik class, `sector`
/// when they map to one sector, and `neutral` when the only label is neutral. A row may carry any
/// subset: the heads learn the class where there is one, the sector where there is only that, and
/// the neutral gate from every row.
public struct GoEmotionsComment: Sendable, Codable, Equatable {
    public var id: String
    public var text: String
    /// The raw GoEmotions labels.
    public var labels: [String]
    public var emotion: PlutchikEmotion?
    public var sector: PlutchikSector?
    public var neutral: Bool

    public init(id: String, text: String, labels: [String], emotion: PlutchikEmotion?, sector: PlutchikSector?, neutral: Bool) {
        self.id = id; self.text = text; self.labels = labels; self.emotion = emotion; self.sector = sector; self.neutral = neutral
    }

    /// The 16 Plutchik classes GoEmotions labels map to; `plutchik eval --goemotions` takes the class
    /// macro-F1 over these (a prediction outside them counts as wrong).
    public static let mappedClasses: [PlutchikEmotion] = [
        .admiration, .anger, .annoyance, .disapproval, .disgust, .fear, .grief, .joy, .love, .optimism, .remorse,
        .sadness, .surprise, .acceptance, .interest, .apprehension,
    ]

    /// The 28 GoEmotions labels (27 emotions and neutral) in the dataset's order.
    public static let rawLabels = [
        "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity",
        "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear",
        "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief",
        "remorse", "sadness", "surprise", "neutral",
    ]

    /// Each GoEmotions label's Plutchik class and sector (nil where it has none: a dyad has no
    /// sector, and some labels, like gratitude or amusement, only a sector). A row's class is its
    /// labels' one class when they all share it, its sector likewise, and it is neutral when its
    /// only label is neutral; `init(from:)` checks every row's mapped fields against this table.
    public static let mapping: [String: (emotion: PlutchikEmotion?, sector: PlutchikSector?)] = [
        "admiration": (.admiration, .trust), "amusement": (nil, .joy), "anger": (.anger, .anger),
        "annoyance": (.annoyance, .anger), "approval": (.acceptance, .trust), "caring": (nil, .trust),
        "confusion": (nil, .surprise), "curiosity": (.interest, .anticipation), "desire": (nil, .anticipation),
        "disappointment": (.disapproval, nil), "disapproval": (.disapproval, nil), "disgust": (.disgust, .disgust),
        "embarrassment": (nil, nil), "excitement": (nil, .joy), "fear": (.fear, .fear), "gratitude": (nil, .trust),
        "grief": (.grief, .sadness), "joy": (.joy, .joy), "love": (.love, nil), "nervousness": (.apprehension, .fear),
        "optimism": (.optimism, nil), "pride": (nil, nil), "realization": (nil, nil), "relief": (nil, .joy),
        "remorse": (.remorse, nil), "sadness": (.sadness, .sadness), "surprise": (.surprise, .surprise), "neutral": (nil, nil),
    ]

    /// The Plutchik fields of a row with these GoEmotions labels, by `mapping`.
    public static func mapped(_ labels: [String]) -> (emotion: PlutchikEmotion?, sector: PlutchikSector?, neutral: Bool) {
        func one<T: Hashable>(_ values: [T?]) -> T? { Set(values).count == 1 ? values.first ?? nil : nil }
        let m = labels.compactMap { mapping[$0] }
        return (one(m.map(\.emotion)), one(m.map(\.sector)), labels == ["neutral"])
    }

    enum CodingKeys: String, CodingKey {
        case id, text, labels = "goemotions", emotion = "plutchik", sector, neutral
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        text = try c.decode(String.self, forKey: .text)
        labels = try c.decodeIfPresent([String].self, forKey: .labels) ?? []
        if let bad = labels.first(where: { !Self.rawLabels.contains($0) }) {
            throw DecodingError.dataCorruptedError(forKey: .labels, in: c, debugDescription: "'\(bad)' is not one of the 28 GoEmotions labels")
        }
        emotion = try c.decodeIfPresent(PlutchikEmotion.self, forKey: .emotion)
        if let name = try c.decodeIfPresent(String.self, forKey: .sector) {
            guard let s = PlutchikSector.allCases.first(where: { $0.name == name }) else {
                throw DecodingError.dataCorruptedError(forKey: .sector, in: c, debugDescription: "unknown sector '\(name)'")
            }
            sector = s
        } else {
            sector = nil
        }
        neutral = try c.decodeIfPresent(Bool.self, forKey: .neutral) ?? false
        let expected = Self.mapped(labels)
        if !labels.isEmpty && (expected.emotion != emotion || expected.sector != sector || expected.neutral != neutral) {
            throw DecodingError.dataCorruptedError(forKey: .emotion, in: c, debugDescription: "labels \(labels) map to plutchik \(expected.emotion?.rawValue ?? "null"), sector \(expected.sector?.name ?? "null"), neutral \(expected.neutral); the row says \(emotion?.rawValue ?? "null"), \(sector?.name ?? "null"), \(neutral)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(text, forKey: .text)
        try c.encode(labels, forKey: .labels)
        try c.encode(emotion, forKey: .emotion)
        try c.encode(sector?.name, forKey: .sector)
        try c.encode(neutral, forKey: .neutral)
    }

    /// Reads a JSONL file, one comment per line, in file order (the first `limit` only, when given);
    /// a bad line is named with its number.
    public static func load(_ url: URL, limit: Int? = nil) throws -> [GoEmotionsComment] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError(.fileNotFound, "cannot read \(url.path)", cause: error)
        }
        var rows: [GoEmotionsComment] = []
        let decoder = JSONDecoder()
        for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
            if let limit, rows.count >= limit { break }
            do { rows.append(try decoder.decode(GoEmotionsComment.self, from: Data(line))) } catch {
                throw ModelError(.invalidInput, "\(url.path):\(n + 1): \(error)")
            }
        }
        return rows
    }
}
