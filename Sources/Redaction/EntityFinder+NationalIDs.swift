extension EntityFinder {
    static let ssnWords = words("ssn", "social security", "social sec", "ss#", "ss #", "taxpayer", "tin")
    static let niWords = words("ni", "nino", "national insurance", "ni number", "ni no")

    /// US social security numbers: AAA-GG-SSSS (dashes or spaces; nine bare digits only after an
    /// SSN context), area not 000, 666 or 9xx, group not 00, serial not 0000.
    func ssns() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i < count {
            guard Self.isDigit(bytes[i]), startsWord(i) else { i += 1; continue }
            let run = digitRun(from: i, separators: [32, 45])
            defer { i = run.end }
            let sizes = zip(run.groups, [(0, 0)] + run.groups.map { ($0.count, $0.end) }).map { $0.count - $1.0 }
            guard run.digits.count == 9, endsWord(run.end), sizes == [3, 2, 4] || sizes == [9] else { continue }
            let area = Self.number(run.digits[0..<3]), group = Self.number(run.digits[3..<5]), serial = Self.number(run.digits[5...])
            guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { continue }
            let range = i..<run.end
            let inContext = context(Self.ssnWords, before: i, window: 30)
            out.append(Finding(kind: .ssn, range: range, score: inContext ? 0.9 : sizes == [9] ? 0.2 : 0.75))
        }
        return out
    }

    /// UK National Insurance numbers: two prefix letters, six digits (optionally in pairs), a
    /// suffix A–D; upper case; prefixes D, F, I, Q, U, V, the second letter O, and BG, GB, KN, NK,
    /// NT, TN, ZZ excluded.
    func nationalInsuranceNumbers() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i + 8 < count {
            guard Self.isUpper(bytes[i]), Self.isUpper(bytes[i + 1]), startsWord(i) else { i += 1; continue }
            let a = bytes[i], b = bytes[i + 1]
            var j = i + 2, digits = 0
            while j < count, digits < 6 {
                if Self.isDigit(bytes[j]) { digits += 1; j += 1 } else if bytes[j] == 32, digits % 2 == 0, j + 1 < count, Self.isDigit(bytes[j + 1]) { j += 1 } else { break }
            }
            if j < count, bytes[j] == 32, j + 1 < count, (65...68).contains(bytes[j + 1]) { j += 1 }
            let prefix = String(decoding: [a, b], as: UTF8.self)
            guard digits == 6, j < count, (65...68).contains(bytes[j]), endsWord(j + 1),
                  !"DFIQUV".utf8.contains(a), !"DFIOQUV".utf8.contains(b),
                  !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(prefix) else { i += 1; continue }
            let range = i..<(j + 1)
            out.append(Finding(kind: .ukNI, range: range, score: context(Self.niWords, before: i, window: 30) ? 0.95 : 0.8))
            i = j + 1
        }
        return out
    }
}
