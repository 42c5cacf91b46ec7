import CPhoneNumber

extension EntityFinder {
    static let phoneWords = words("phone", "call", "tel", "tel.", "telephone", "mobile", "cell", "whatsapp", "ring", "text me", "fax",
                                  "reach me", "my number", "number is", "nummer", "numéro", "número", "numero", "contact", "landline", "handy", "telefon", "téléphone", "portable", "móvil", "cellulare", "mob")
    /// Numbers that are not phones although they may be valid ones: order, reference, account numbers.
    static let notPhoneWords = words("order", "invoice", "ref", "reference", "tracking", "account", "acct", "sku", "item", "product",
                                     "serial", "ticket", "case", "booking", "confirmation", "id", "#", "parcel", "transaction", "customer no",
                                     "policy", "model", "part", "code", "pin", "iban", "sort code", "routing", "€", "$", "£", "total")

    /// Phone numbers: `+` or `00` and a country code, or a national number of one of the policy's
    /// regions, with spaces, dashes, dots, slashes or parentheses between digit groups; candidates
    /// are found here (7–15 digits, not a date or time) and validated by libphonenumber.
    func phones() -> [Finding] {
        var out: [Finding] = []
        let regions = phoneRegions.joined()
        var i = 0
        while i < count {
            let b = bytes[i]
            guard startsWord(i), Self.isDigit(b) || ((b == UInt8(ascii: "+") || b == UInt8(ascii: "(")) && Self.isDigit(byte(i + 1) ?? 0)) else { i += 1; continue }
            guard i == 0 || !Self.isDigit(bytes[i - 1]) && bytes[i - 1] != UInt8(ascii: ".") && bytes[i - 1] != UInt8(ascii: ",") else { i += 1; continue }
            var e = i, digits = 0, separators = 0
            while e < count {
                let c = bytes[e]
                if Self.isDigit(c) {
                    digits += 1; separators = 0; e += 1
                } else if (c == UInt8(ascii: "+") && e == i) || c == UInt8(ascii: "(") || c == UInt8(ascii: ")") || c == 32 || c == UInt8(ascii: "-")
                            || c == UInt8(ascii: ".") || c == UInt8(ascii: "/") {
                    separators += 1
                    guard separators <= 2, digits < 15 else { break }
                    e += 1
                } else {
                    break
                }
            }
            while e > i, !Self.isDigit(bytes[e - 1]) { e -= 1 }
            defer { i = max(e, i + 1) }
            let candidate = bytes[i..<e]
            let international = candidate.first == UInt8(ascii: "+") || (candidate.starts(with: [48, 48]))
            guard endsWord(e), digits >= (international ? 8 : 9), digits <= (international ? 15 : 12), !Self.looksLikeDate(candidate),
                  !Self.groupedLikeCard(candidate), !followsCode(i), international || !Self.groupedLikeZIP(candidate),
                  !Self.looksLikeDecimal(candidate), byte(e) != UInt8(ascii: "%") else { continue }
            let region = String(decoding: candidate, as: UTF8.self).withCString { cphonenumber_valid_region($0, regions) }
            guard region >= 0 else { continue }
            let grouped = candidate.contains { !Self.isDigit($0) }
            let base = international ? 0.85 : grouped ? 0.7 : 0.45   // ten bare digits need a phone word
            let range = i..<e
            out.append(Finding(kind: .phone, range: range, score: score(base, at: range, positive: Self.phoneWords, negative: Self.notPhoneWords, window: 30, negativeFirst: true)))
        }
        return out
    }

    /// Starts with a date: 2024-03-15, 15/03/2024, 15.03.2024 (a time may follow).
    static func looksLikeDate(_ s: ArraySlice<UInt8>) -> Bool {
        let groups = s.split(whereSeparator: { !isDigit($0) })
        guard groups.count >= 3 else { return false }
        let first = s[groups[0].endIndex], second = s[groups[1].endIndex]
        guard first == second, "-/.".utf8.contains(first), groups[1].endIndex - groups[0].endIndex == groups[1].count + 1 else { return false }
        let n = groups.prefix(3).map(\.count)
        return n[0] == 4 && n[1] <= 2 && n[2] <= 2 || n[0] <= 2 && n[1] <= 2 && n[2] == 4
    }

    /// Grouped as card numbers are (three groups of four, or 4-6-5 / 4-6-4): a mistyped card.
    static func groupedLikeCard(_ s: ArraySlice<UInt8>) -> Bool {
        let groups = s.split(whereSeparator: { !isDigit($0) }).map(\.count)
        return groups.count >= 3 && groups.prefix(3) == [4, 4, 4] || groups == [4, 6, 5] || groups == [4, 6, 4]
    }

    /// A decimal number (4.31977192): one dot, no other separator.
    static func looksLikeDecimal(_ s: ArraySlice<UInt8>) -> Bool {
        let separators = s.filter { !isDigit($0) }
        return separators == [UInt8(ascii: ".")]
    }

    /// A US ZIP+4 code (12345-6789).
    static func groupedLikeZIP(_ s: ArraySlice<UInt8>) -> Bool {
        s.count == 10 && s[s.startIndex + 5] == UInt8(ascii: "-") && s.filter(isDigit).count == 9
    }

    /// Whether the number continues a code written in groups of four that starts with two
    /// letters and two digits (an IBAN, "DE89 3704 …", valid or not).
    func followsCode(_ i: Int) -> Bool {
        var e = i
        for _ in 0..<8 {
            guard e >= 5, bytes[e - 1] == 32 else { return false }
            let s = e - 5
            let group = bytes[s..<(e - 1)]
            guard startsWord(s), group.allSatisfy({ Self.isUpper($0) || Self.isDigit($0) }) else { return false }
            if Self.isUpper(group[s]), Self.isUpper(group[s + 1]), Self.isDigit(group[s + 2]), Self.isDigit(group[s + 3]) { return true }
            e = s
        }
        return false
    }
}
