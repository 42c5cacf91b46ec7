// The standard library's own NFD, the one Foundation's normalisation is built on.
@_spi(_Unicode) import Swift

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Contracts

/// The uncased BERT WordPiece tokenizer of all-MiniLM-L6-v2.
///
/// It reproduces the reference `tokenizers` pipeline configured in the model's
/// `tokenizer.json`: the special tokens are split out of the raw text first, then
/// `BertNormalizer` (clean text, pad CJK ideographs, NFD and drop non-spacing marks,
/// lowercase), `BertPreTokenizer` (split on whitespace and punctuation) and
/// greedy longest-match-first WordPiece with `##` continuations, and finally
/// `[CLS] … [SEP]`.
///
/// The reference classifies punctuation, control characters and non-spacing marks
/// with Unicode 8.0 tables; ``referenceCategory(_:)`` reproduces them.
public struct WordPieceTokenizer: Sendable {
    /// The id of `[CLS]`, which starts every encoding.
    public let clsID: Int32
    /// The id of `[SEP]`, which ends every encoding.
    public let sepID: Int32
    /// The id of `[PAD]`.
    public let padID: Int32
    /// The id of `[UNK]`, used for words that cannot be split into vocabulary pieces.
    public let unkID: Int32

    /// Words longer than this many Unicode scalars become `[UNK]`.
    static let maxInputCharsPerWord = 100

    let vocabulary: Vocabulary
    /// The special tokens that are recognised verbatim in the raw text, by name without brackets.
    let specialTokens: [(name: [UInt8], id: Int32)]

    /// Loads the vocabulary from a `vocab.txt` file: one token per line, the id being the line index.
    ///
    /// - Throws: `ModelError` with code `.fileNotFound` if the file cannot be read, or
    ///   `.invalidFile` if it lacks one of `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`.
    public init(vocabulary url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelError(.fileNotFound, "cannot read vocabulary \(url.path)", cause: error)
        }
        let vocabulary = Vocabulary(fileContents: Array(data))
        func special(_ token: String) throws -> Int32 {
            guard let id = vocabulary.id(Array(token.utf8)[...], continuation: false) else {
                throw ModelError(.invalidFile, "vocabulary \(url.path) has no \(token) token")
            }
            return id
        }
        self.vocabulary = vocabulary
        self.clsID = try special("[CLS]")
        self.sepID = try special("[SEP]")
        self.padID = try special("[PAD]")
        self.unkID = try special("[UNK]")
        var specialTokens = [(name: [UInt8], id: Int32)]()
        for name in ["PAD", "UNK", "CLS", "SEP", "MASK"] {
            if let id = vocabulary.id(Array("[\(name)]".utf8)[...], continuation: false) {
                specialTokens.append((Array(name.utf8) + [UInt8(ascii: "]")], id))
            }
        }
        self.specialTokens = specialTokens
    }

    /// Encodes `text` as token ids: `[CLS]`, the WordPiece ids of the text, `[SEP]`.
    ///
    /// The text's tokens are truncated so that the result holds at most `maxLength` ids,
    /// `[SEP]` included, as the reference tokenizer does.
    ///
    /// - Parameter maxLength: The maximum number of ids returned; at least 2.
    public func encode(_ text: String, maxLength: Int = 128) -> [Int32] {
        precondition(maxLength >= 2, "maxLength must leave room for [CLS] and [SEP]")
        var state = EncodingState(capacity: maxLength - 1)
        state.ids.append(self.clsID)
        self.splitSpecialTokens(text, into: &state)
        state.ids.append(self.sepID)
        return state.ids
    }

    /// Splits the raw text on the special tokens (matched verbatim, like the reference's
    /// added vocabulary), and tokenizes the pieces in between.
    private func splitSpecialTokens(_ text: String, into state: inout EncodingState) {
        let utf8 = text.utf8
        var segmentStart = utf8.startIndex
        var index = segmentStart
        while index != utf8.endIndex, !state.isFull {
            guard utf8[index] == UInt8(ascii: "[") else {
                utf8.formIndex(after: &index)
                continue
            }
            let afterBracket = utf8.index(after: index)
            var matched: (end: String.Index, id: Int32)?
            for special in self.specialTokens where utf8[afterBracket...].starts(with: special.name) {
                matched = (utf8.index(afterBracket, offsetBy: special.name.count), special.id)
                break
            }
            guard let (end, id) = matched else {
                index = afterBracket
                continue
            }
            self.tokenize(text.unicodeScalars[segmentStart..<index], into: &state)
            state.append(id)
            segmentStart = end
            index = end
        }
        self.tokenize(text.unicodeScalars[segmentStart...], into: &state)
    }

    /// Normalizes, pre-tokenizes and WordPiece-encodes a piece of text without special tokens.
    ///
    /// The piece is a scalar slice because a special token may end inside a `Character`.
    private func tokenize(_ scalars: Substring.UnicodeScalarView, into state: inout EncodingState) {
        guard !scalars.isEmpty, !state.isFull else { return }
        let text = Substring(scalars)
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII is its own NFD and has no non-spacing marks.
            for byte in text.utf8 {
                self.process(Unicode.Scalar(byte), into: &state)
                if state.isFull { return }
            }
        } else {
            // Clean the text and pad CJK ideographs before NFD, in the reference's order.
            var cleaned = String.UnicodeScalarView()
            for scalar in scalars {
                if scalar.isASCII {
                    switch scalar.value {
                    case 0x09, 0x0A, 0x0D: cleaned.append(" ")
                    case 0x00...0x1F, 0x7F: break
                    default: cleaned.append(scalar)
                    }
                    continue
                }
                if Self.isRemoved(scalar) { continue }
                if Self.isWhitespace(scalar) {
                    cleaned.append(" ")
                } else if Self.isCJK(scalar) {
                    cleaned.append(" ")
                    cleaned.append(scalar)
                    cleaned.append(" ")
                } else {
                    cleaned.append(scalar)
                }
            }
            for scalar in String(cleaned)._nfd where !Self.isNonSpacingMark(scalar) {
                if !scalar.isASCII && scalar.properties.changesWhenLowercased {
                    for lower in scalar.properties.lowercaseMapping.unicodeScalars {
                        self.process(lower, into: &state)
                    }
                } else {
                    self.process(scalar, into: &state)
                }
                if state.isFull { return }
            }
        }
        self.finishWord(&state)
    }

    /// Feeds one scalar of cleaned text to the pre-tokenizer. ASCII input arrives here uncleaned.
    @inline(__always)
    private func process(_ scalar: Unicode.Scalar, into state: inout EncodingState) {
        let value = scalar.value
        if value < 0x80 {
            switch value {
            case 0x61...0x7A, 0x30...0x39:
                state.word.append(UInt8(truncatingIfNeeded: value))
                state.wordScalars += 1
            case 0x41...0x5A:
                state.word.append(UInt8(truncatingIfNeeded: value) | 0x20)
                state.wordScalars += 1
            case 0x09, 0x0A, 0x0D, 0x20:
                self.finishWord(&state)
            case 0x00...0x1F, 0x7F:
                break  // control characters are removed
            default:
                self.finishWord(&state)
                state.word.append(UInt8(truncatingIfNeeded: value))
                state.wordScalars = 1
                self.finishWord(&state)
            }
        } else if Self.isWhitespace(scalar) {
            self.finishWord(&state)
        } else if Self.isPunctuation(scalar) {
            self.finishWord(&state)
            UTF8.encode(scalar) { state.word.append($0) }
            state.wordScalars = 1
            self.finishWord(&state)
        } else {
            UTF8.encode(scalar) { state.word.append($0) }
            state.wordScalars += 1
        }
    }

    /// Encodes the accumulated word, if any, with greedy longest-match-first WordPiece.
    private func finishWord(_ state: inout EncodingState) {
        guard state.wordScalars > 0 else { return }
        defer {
            state.word.removeAll(keepingCapacity: true)
            state.wordScalars = 0
        }
        if state.isFull { return }
        if state.wordScalars > Self.maxInputCharsPerWord {
            state.append(self.unkID)
            return
        }
        let count = state.word.count
        let firstPiece = state.ids.count
        var start = 0
        while start < count {
            var end = min(count, start + self.vocabulary.maxTokenBytes)
            var found: Int32?
            while end > start {
                // Only cut at scalar boundaries, never inside a multi-byte sequence.
                if end == count || state.word[end] & 0xC0 != 0x80,
                    let id = self.vocabulary.id(state.word[start..<end], continuation: start > 0)
                {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                state.ids.removeSubrange(firstPiece...)
                state.append(self.unkID)
                return
            }
            state.ids.append(id)
            start = end
        }
        if state.ids.count > state.capacity {
            state.ids.removeSubrange(state.capacity...)
        }
    }
}

extension WordPieceTokenizer {
    /// The working buffers of one `encode` call.
    fileprivate struct EncodingState {
        /// The ids so far, `[CLS]` first.
        var ids: [Int32]
        /// How many ids may be produced before `[SEP]`.
        let capacity: Int
        /// The UTF-8 bytes of the word being accumulated.
        var word: [UInt8] = []
        /// The number of Unicode scalars in `word`.
        var wordScalars = 0

        init(capacity: Int) {
            self.capacity = capacity
            self.ids = []
            self.ids.reserveCapacity(min(capacity + 1, 512))
            self.word.reserveCapacity(64)
        }

        var isFull: Bool { self.ids.count >= self.capacity }

        mutating func append(_ id: Int32) {
            if !self.isFull { self.ids.append(id) }
        }
    }
}

// MARK: - Character classes, as the reference defines them

extension WordPieceTokenizer {
    /// The general category of `scalar` in the reference's `unicode_categories` tables,
    /// which are from Unicode 8.0: later characters are unassigned there, and a few
    /// characters have changed category since. The exceptions below were found by
    /// encoding every code point, alone and next to a combining mark, with both tokenizers.
    static func referenceCategory(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory {
        switch scalar.value {
        case 0x166D, 0x111C9: return .otherPunctuation
        case 0x1734, 0x1171E: return .nonspacingMark
        case 0x1885, 0x1886: return .otherLetter
        case 0xA9BD: return .spacingMark
        default: break
        }
        let properties = scalar.properties
        guard let age = properties.age, age.major < 8 || (age.major == 8 && age.minor == 0) else {
            return .unassigned
        }
        return properties.generalCategory
    }

    /// `clean_text` drops NUL, U+FFFD and control, format and private-use characters
    /// other than tab, newline and carriage return.
    static func isRemoved(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x00, 0xFFFD: return true
        default: break
        }
        switch self.referenceCategory(scalar) {
        case .control, .format, .privateUse: return true
        default: return false
        }
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// The CJK ideograph blocks that BERT splits into single-character words.
    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    static func isNonSpacingMark(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x300 && self.referenceCategory(scalar) == .nonspacingMark
    }

    /// BERT's punctuation: ASCII symbols and Unicode category P*.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        case 0..<0x80: return false
        default: break
        }
        switch self.referenceCategory(scalar) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}

// MARK: - Vocabulary

extension WordPieceTokenizer {
    /// An open-addressing hash table from token bytes to id, looked up by byte slices
    /// so that WordPiece never builds a `String` per candidate piece. Tokens compare by
    /// bytes, as in the reference, not by Unicode canonical equivalence as `String` does.
    struct Vocabulary: Sendable {
        /// All tokens' UTF-8 bytes, back to back.
        private let bytes: [UInt8]
        /// Token `id` occupies `bytes[starts[id]..<starts[id + 1]]`.
        private let starts: [Int32]
        /// Ids by hash slot; -1 marks an empty slot.
        private let slots: [Int32]
        /// The length in bytes of the longest token: no longer piece can match.
        let maxTokenBytes: Int

        private static let continuationPrefix: [UInt8] = Array("##".utf8)

        var count: Int { self.starts.count - 1 }

        init(fileContents: [UInt8]) {
            var lines = fileContents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            if lines.last?.isEmpty == true { lines.removeLast() }
            var bytes = [UInt8]()
            var starts = [Int32]()
            starts.reserveCapacity(lines.count + 1)
            var maxTokenBytes = 0
            for var line in lines {
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                starts.append(Int32(bytes.count))
                bytes.append(contentsOf: line)
                maxTokenBytes = max(maxTokenBytes, line.count)
            }
            starts.append(Int32(bytes.count))
            self.bytes = bytes
            self.starts = starts
            self.maxTokenBytes = maxTokenBytes

            var capacity = 1
            while capacity < 2 * lines.count { capacity <<= 1 }
            var slots = [Int32](repeating: -1, count: capacity)
            for id in 0..<lines.count {
                let token = bytes[Int(starts[id])..<Int(starts[id + 1])]
                var slot = Int(truncatingIfNeeded: Self.hash(token, seed: Self.seed)) & (capacity - 1)
                // On duplicate lines the first id wins.
                while slots[slot] >= 0, !bytes[Int(starts[Int(slots[slot])])..<Int(starts[Int(slots[slot]) + 1])].elementsEqual(token) {
                    slot = (slot + 1) & (capacity - 1)
                }
                if slots[slot] < 0 { slots[slot] = Int32(id) }
            }
            self.slots = slots
        }

        /// The id of `piece`, or of `"##" + piece` when `continuation` is set.
        @inline(__always)
        func id(_ piece: ArraySlice<UInt8>, continuation: Bool) -> Int32? {
            let seed = continuation ? Self.continuationSeed : Self.seed
            let prefixCount = continuation ? 2 : 0
            let mask = self.slots.count - 1
            var slot = Int(truncatingIfNeeded: Self.hash(piece, seed: seed)) & mask
            while true {
                let id = self.slots[slot]
                if id < 0 { return nil }
                let start = Int(self.starts[Int(id)])
                let end = Int(self.starts[Int(id) + 1])
                if end - start == piece.count + prefixCount,
                    !continuation || (self.bytes[start] == UInt8(ascii: "#") && self.bytes[start + 1] == UInt8(ascii: "#")),
                    self.bytes[(start + prefixCount)..<end].elementsEqual(piece)
                {
                    return id
                }
                slot = (slot + 1) & mask
            }
        }

        // FNV-1a, which can be resumed after the "##" prefix.
        private static let seed: UInt64 = 0xcbf2_9ce4_8422_2325
        private static let continuationSeed: UInt64 = hash(continuationPrefix[...], seed: seed)

        @inline(__always)
        private static func hash(_ bytes: ArraySlice<UInt8>, seed: UInt64) -> UInt64 {
            var hash = seed
            for byte in bytes {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
            return hash
        }
    }
}
