extension EntityFinder {
    static let addressWords = words(
        "address", "adresse", "adres", "anschrift", "wohne", "woon", "street", "st", "st.", "road", "rd", "rd.", "avenue", "ave", "ave.", "lane", "drive", "boulevard", "blvd", "court",
        "way", "close", "crescent", "place", "square", "terrace", "apt", "apartment", "suite", "flat", "live at", "living at",
        "ship to", "deliver to", "delivery", "billing", "postcode", "post code", "postal code", "zip", "zip code", "zipcode",
        "straße", "strasse", "str.", "weg", "allee", "platz", "gasse", "plz", "straat", "laan", "plein", "gracht", "kade", "postcode")
    /// The endings of German and Dutch street names written as one word (Hauptstraße, Keizersgracht).
    static let streetSuffixes = words("straße", "strasse", "str.", "weg", "allee", "platz", "gasse", "damm", "ring", "straat", "laan",
                                      "plein", "gracht", "kade", "singel", "dijk", "steeg")
    static let birthWords = words("dob", "d.o.b", "d.o.b.", "date of birth", "birth date", "birthdate", "born", "birthday", "geboren", "geb.")
    static let expiryWords = words("exp", "exp.", "expiry", "expires", "expiration", "expiring", "valid thru", "valid through", "valid until",
                                   "good thru", "valid to", "ablauf", "gültig bis")
    static let securityCodeWords = words("cvv", "cvv2", "cvc", "cvc2", "csc", "cid", "security code", "card verification", "verification code",
                                         "3 digits", "three digits", "digits on the back")

    /// UK, US, German and Dutch postcodes, only with an address word within 60 bytes before or 30 after.
    func postcodes() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i < count {
            guard startsWord(i), Self.isAlnum(bytes[i]), let end = postcodeEnd(at: i) else { i += 1; continue }
            if context(Self.addressWords, before: i, window: 60) || context(Self.addressWords, after: end, window: 30)
                || endsOfWords(Self.streetSuffixes, before: i, window: 40) {
                out.append(Finding(kind: .postcode, range: i..<end, score: 0.65))   // a valid phone number wins
            }
            i = end
        }
        return out
    }

    /// The end of a postcode starting at `i`: US ZIP (12345, 12345-6789), German (12345), Dutch
    /// (1234 AB) or UK (A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA; space optional).
    private func postcodeEnd(at i: Int) -> Int? {
        var j = i
        while j < count, Self.isDigit(bytes[j]) { j += 1 }
        let n = j - i
        if n == 5 {
            if j + 5 <= count, bytes[j] == UInt8(ascii: "-"), bytes[(j + 1)..<(j + 5)].allSatisfy(Self.isDigit), endsWord(j + 5) { return j + 5 }
            return endsWord(j) ? j : nil
        }
        if n == 4, bytes[i] != UInt8(ascii: "0") {
            var k = j
            if k < count, bytes[k] == 32 { k += 1 }
            if k + 2 <= count, Self.isUpper(bytes[k]), Self.isUpper(bytes[k + 1]), endsWord(k + 2) { return k + 2 }
            return nil
        }
        guard n == 0 else { return nil }
        // UK: outward code (1–2 letters, a digit, an optional letter or digit), inward code (digit, two letters).
        var k = i
        while k < count, k - i < 2, Self.isUpper(bytes[k]) { k += 1 }
        guard k > i, k < count, Self.isDigit(bytes[k]) else { return nil }
        k += 1
        // The outward code's optional last character, then the inward code (digit, two letters).
        for outEnd in [k + 1, k] where outEnd <= count && (outEnd == k || Self.isDigit(bytes[k]) || Self.isUpper(bytes[k])) {
            let rest = outEnd < count && bytes[outEnd] == 32 ? outEnd + 1 : outEnd
            if rest + 3 <= count, Self.isDigit(bytes[rest]), Self.isUpper(bytes[rest + 1]), Self.isUpper(bytes[rest + 2]), endsWord(rest + 3) {
                return rest + 3
            }
        }
        return nil
    }

    /// Dates after a birth-date word (within 30 bytes, no number between): numeric (15/03/1985, 1985-03-15,
    /// 15.03.85) or with a month name (15 March 1985, March 15, 1985).
    func datesOfBirth() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i < count {
            guard startsWord(i), Self.isAlnum(bytes[i]), let end = dateEnd(at: i) else { i += 1; continue }
            if nearestContext(Self.birthWords, before: i, window: 30) { out.append(Finding(kind: .dob, range: i..<end, score: 0.9)) }
            i = end
        }
        return out
    }

    static let months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
                         "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"].map { Array($0.utf8) }

    private func dateEnd(at i: Int) -> Int? {
        let run = digitRun(from: i, separators: [UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: ".")])
        if run.groups.count == 3 {
            let sizes = zip(run.groups, [(0, 0)] + run.groups.map { ($0.count, $0.end) }).map { $0.count - $1.0 }
            if sizes == [4, 2, 2] || (sizes[0] <= 2 && sizes[1] <= 2 && (sizes[2] == 4 || sizes[2] == 2)), endsWord(run.end) { return run.end }
            return nil
        }
        // "15 March 1985", "15th of March 1985", "March 15, 1985"
        var k = i
        if Self.isDigit(bytes[k]) {
            while k < count, Self.isDigit(bytes[k]) { k += 1 }
            guard k - i <= 2 else { return nil }
            while k < count, Self.isLetter(bytes[k]) && k - i < 4 { k += 1 }   // st, nd, rd, th
            while k < count, bytes[k] == 32 || lower[k...].starts(with: "of ".utf8) { k += lower[k...].starts(with: "of ".utf8) ? 3 : 1 }
            guard let m = monthEnd(at: k) else { return nil }
            return yearEnd(after: m)
        }
        guard let m = monthEnd(at: k) else { return nil }
        k = m
        while k < count, bytes[k] == 32 { k += 1 }
        let d = k
        while k < count, Self.isDigit(bytes[k]) { k += 1 }
        guard k > d, k - d <= 2 else { return nil }
        while k < count, Self.isLetter(bytes[k]) && k - d < 4 { k += 1 }
        if k < count, bytes[k] == UInt8(ascii: ",") { k += 1 }
        return yearEnd(after: k)
    }

    private func monthEnd(at k: Int) -> Int? {
        for m in Self.months where lower[k...].starts(with: m) && endsWord(k + m.count) {
            return k + m.count < count && bytes[k + m.count] == UInt8(ascii: ".") ? k + m.count + 1 : k + m.count
        }
        return nil
    }

    private func yearEnd(after m: Int) -> Int? {
        var k = m
        while k < count, bytes[k] == 32 || bytes[k] == UInt8(ascii: ",") { k += 1 }
        let y = k
        while k < count, Self.isDigit(bytes[k]) { k += 1 }
        return k - y == 4 && endsWord(k) ? k : nil
    }

    /// Card expiry dates, MM/YY or MM/YYYY (month 1–12), after an expiry word (within 20 bytes, no number between)
    /// or within 40 bytes after a card number.
    func expiries(after cards: [Finding]) -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i < count {
            guard Self.isDigit(bytes[i]), startsWord(i) else { i += 1; continue }
            let run = digitRun(from: i, separators: [UInt8(ascii: "/")])
            defer { i = run.end }
            guard run.groups.count == 2, endsWord(run.end) else { continue }
            let monthDigits = run.groups[0].count, yearDigits = run.digits.count - monthDigits
            guard (1...2).contains(monthDigits), yearDigits == 2 || yearDigits == 4,
                  (1...12).contains(Self.number(run.digits[0..<monthDigits])) else { continue }
            let afterCard = cards.contains { $0.range.upperBound <= i && i - $0.range.upperBound <= 40 }
            if afterCard || nearestContext(Self.expiryWords, before: i, window: 20) {
                out.append(Finding(kind: .expiry, range: i..<run.end, score: 0.9))
            }
        }
        return out
    }

    /// Card security codes: three or four digits after a CVV word (within 20 bytes, no number between).
    func securityCodes() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i < count {
            guard Self.isDigit(bytes[i]), startsWord(i) else { i += 1; continue }
            var e = i
            while e < count, Self.isDigit(bytes[e]) { e += 1 }
            if (3...4).contains(e - i), endsWord(e), nearestContext(Self.securityCodeWords, before: i, window: 20) {
                out.append(Finding(kind: .cvv, range: i..<e, score: 0.9))
            }
            i = e
        }
        return out
    }
}
