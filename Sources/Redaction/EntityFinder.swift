/// The scanners over one text's UTF-8 bytes; each `EntityFinder+Kind.swift` holds one entity's.
/// A scanner proposes findings with a confidence; ``Redactor`` keeps those at or above
/// ``threshold`` that do not overlap a better one.
struct EntityFinder {
    let bytes: [UInt8]
    /// `bytes` with ASCII letters lower-cased, for context words.
    let lower: [UInt8]
    /// The national phone formats' regions, two letters each, concatenated ("USGB…").
    let phoneRegions: [String]

    /// Findings below this confidence are not redacted.
    static let threshold = 0.5

    init(_ text: String, phoneRegions: [String]) {
        bytes = Array(text.utf8)
        lower = bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        self.phoneRegions = phoneRegions
    }

    var count: Int { bytes.count }

    /// Every candidate of the `kinds` scanned for.
    func findings(of kinds: Set<EntityKind>) -> [Finding] {
        var out: [Finding] = []
        if kinds.contains(.card) || kinds.contains(.expiry) { out += cards() }
        if kinds.contains(.iban) { out += ibans() }
        if kinds.contains(.email) { out += emails() }
        if kinds.contains(.url) { out += urls() }
        if kinds.contains(.phone) { out += phones() }
        if kinds.contains(.ssn) { out += ssns() }
        if kinds.contains(.ukNI) { out += nationalInsuranceNumbers() }
        if kinds.contains(.ip) { out += ipAddresses() }
        if kinds.contains(.postcode) { out += postcodes() }
        if kinds.contains(.dob) { out += datesOfBirth() }
        if kinds.contains(.expiry) { out += expiries(after: out.filter { $0.kind == .card }) }
        if kinds.contains(.cvv) { out += securityCodes() }
        return out
    }

    // MARK: Bytes

    static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    static func isUpper(_ b: UInt8) -> Bool { b >= 65 && b <= 90 }
    static func isLetter(_ b: UInt8) -> Bool { isUpper(b) || (b >= 97 && b <= 122) }
    static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
    /// Letters, digits, `_` and any non-ASCII byte: what continues a word.
    static func isWordByte(_ b: UInt8) -> Bool { isAlnum(b) || b == 95 || b >= 0x80 }

    func byte(_ i: Int) -> UInt8? { i >= 0 && i < bytes.count ? bytes[i] : nil }

    /// Whether a token may start at `i` (no word byte before it).
    func startsWord(_ i: Int) -> Bool { i == 0 || !Self.isWordByte(bytes[i - 1]) }
    /// Whether a token may end at `end` (no word byte after it).
    func endsWord(_ end: Int) -> Bool { end >= bytes.count || !Self.isWordByte(bytes[end]) }

    /// Digits from `start`, with single `separators` between digit groups.
    /// Returns the digits, each group's end (digits so far, byte end) and the run's byte end.
    func digitRun(from start: Int, separators: [UInt8]) -> (digits: [UInt8], groups: [(count: Int, end: Int)], end: Int) {
        var digits: [UInt8] = [], groups: [(count: Int, end: Int)] = []
        var i = start
        while i < bytes.count {
            if Self.isDigit(bytes[i]) {
                digits.append(bytes[i]); i += 1
            } else if separators.contains(bytes[i]), i + 1 < bytes.count, Self.isDigit(bytes[i + 1]) {
                groups.append((digits.count, i)); i += 1
            } else {
                break
            }
        }
        groups.append((digits.count, i))
        return (digits, groups, i)
    }

    /// The number the ASCII digits `d` spell.
    static func number(_ d: some Collection<UInt8>) -> Int { d.reduce(0) { $0 * 10 + Int($1) - 48 } }

    // MARK: Context

    /// Whether one of `words` (lower-case) starts a word within `window` bytes before `position`.
    func context(_ words: [[UInt8]], before position: Int, window: Int) -> Bool {
        context(words, in: max(0, position - window)..<position)
    }

    /// Like `context(_:before:window:)`, but the window also stops after the previous digit, so the
    /// word belongs to this number and not to an earlier one ("cvv 123 and 415 555 2671").
    func nearestContext(_ words: [[UInt8]], before position: Int, window: Int) -> Bool {
        var start = max(0, position - window)
        if let d = bytes[start..<position].lastIndex(where: Self.isDigit) { start = d + 1 }
        return context(words, in: start..<position)
    }

    /// Whether one of `words` starts a word within `window` bytes after `position`.
    func context(_ words: [[UInt8]], after position: Int, window: Int) -> Bool {
        context(words, in: position..<min(bytes.count, position + window))
    }

    private func context(_ words: [[UInt8]], in range: Range<Int>) -> Bool {
        for w in words where w.count <= range.count {
            var i = range.lowerBound
            while i + w.count <= range.upperBound {
                if lower[i] == w[0], startsWord(i) || !Self.isAlnum(w[0]), lower[i..<(i + w.count)].elementsEqual(w),
                   endsWord(i + w.count) || !Self.isAlnum(w[w.count - 1]) {
                    return true
                }
                i += 1
            }
        }
        return false
    }

    /// Whether one of `suffixes` ends a word within `window` bytes before `position`.
    func endsOfWords(_ suffixes: [[UInt8]], before position: Int, window: Int) -> Bool {
        let start = max(0, position - window)
        for s in suffixes {
            var e = position
            while e - s.count >= start {
                if endsWord(e) || !Self.isAlnum(s[s.count - 1]), lower[(e - s.count)..<e].elementsEqual(s), e - s.count > 0,
                   Self.isWordByte(bytes[e - s.count - 1]) {
                    return true
                }
                e -= 1
            }
        }
        return false
    }

    /// A base confidence moved by context: `positive` words raise it, `negative` words lower it
    /// below the threshold; when both occur, `positive` wins unless `negativeFirst`.
    func score(_ base: Double, at range: Range<Int>, positive: [[UInt8]], negative: [[UInt8]], window: Int = 40,
               negativeFirst: Bool = false) -> Double {
        if negativeFirst, context(negative, before: range.lowerBound, window: window) { return base - 0.5 }
        if context(positive, before: range.lowerBound, window: window) { return min(1, base + 0.15) }
        if context(negative, before: range.lowerBound, window: window) { return base - 0.5 }
        return base
    }

    /// Lower-case byte strings for `context`.
    static func words(_ list: String...) -> [[UInt8]] { list.map { Array($0.utf8) } }
}
