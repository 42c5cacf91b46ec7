extension EntityFinder {
    static let cardWords = words("card", "visa", "mastercard", "master card", "amex", "american express", "credit", "debit",
                                 "pan", "cc", "discover", "maestro", "jcb", "diners", "unionpay", "number is", "no.")
    /// Numbers that are not cards although they may pass Luhn: order, tracking and reference numbers.
    static let notPaymentWords = words("order", "tracking", "invoice", "ref", "reference", "serial", "imei", "sku", "parcel",
                                       "shipment", "ticket", "case", "booking", "confirmation", "transaction id", "id")

    /// Card numbers: 13–19 digits with single spaces or dashes between groups, Luhn-valid, with a
    /// known issuer prefix and length. A longer run (a card then its CVV) is tried at each group end.
    func cards() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i < count {
            guard Self.isDigit(bytes[i]), startsWord(i), byte(i - 1) != UInt8(ascii: "+"), !followsCode(i) else { i += 1; continue }
            let run = digitRun(from: i, separators: [32, 45])
            for g in run.groups.reversed() where (13...19).contains(g.count) && (g.end < run.end || endsWord(g.end)) {
                let d = Array(run.digits[0..<g.count])
                if Checksum.luhn(d), Self.issuerAccepts(d) {
                    let range = i..<g.end
                    out.append(Finding(kind: .card, range: range, score: score(0.85, at: range, positive: Self.cardWords, negative: Self.notPaymentWords)))
                    break
                }
            }
            i = run.end
        }
        return out
    }

    /// Whether a card scheme issues numbers with this prefix and length (Visa, Mastercard, Amex,
    /// Discover, JCB, Diners, UnionPay, Mir, Maestro).
    static func issuerAccepts(_ d: [UInt8]) -> Bool {
        let n = d.count
        let p2 = number(d.prefix(2)), p3 = number(d.prefix(3)), p4 = number(d.prefix(4)), p6 = number(d.prefix(6))
        if d[0] == UInt8(ascii: "4") { return n == 13 || n == 16 || n == 19 }
        if (51...55).contains(p2) || (2221...2720).contains(p4) { return n == 16 }
        if p2 == 34 || p2 == 37 { return n == 15 }
        if p4 == 6011 || (644...649).contains(p3) || p2 == 65 || (622126...622925).contains(p6) { return (16...19).contains(n) }
        if (3528...3589).contains(p4) { return (16...19).contains(n) }
        if p2 == 36 || (300...305).contains(p3) || p2 == 38 || p2 == 39 { return (14...19).contains(n) }
        if p2 == 62 || p2 == 81 { return (16...19).contains(n) }
        if (2200...2204).contains(p4) { return (16...19).contains(n) }
        if p2 == 50 || (56...69).contains(p2) { return (13...19).contains(n) }
        return false
    }
}
