import Contracts

/// A seeded generator of chat turns labelled with the sensitive data they hold, for tests,
/// `plutchik eval-redaction` and `plutchik bench redact`: valid cards of several schemes, IBANs
/// of many countries, phones in the national formats of the default regions and E.164, e-mail,
/// SSN, NI, IP, postcodes in addresses, birth dates, expiries, CVVs, URLs with tokens; and turns
/// without any, built to look like them: Luhn-invalid cards, IBANs with a wrong check, order and
/// tracking numbers, prices, timestamps, product codes, versions.
package struct LabelledTextGenerator {
    private var rng: SeededGenerator

    package init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// `count` turns, `piiFreeShare` of them without sensitive data.
    package mutating func make(count: Int, piiFreeShare: Double = 0.5) -> [LabelledText] {
        (0..<count).map { _ in Double.random(in: 0..<1, using: &rng) < piiFreeShare ? piiFree() : withEntity() }
    }

    // MARK: Turns

    static let openers = ["", "Hi, ", "Hello. ", "ok so ", "Sorry, ", "Right, ", "Thanks! ", "ugh, ", "As I said, ", "Please help: "]
    static let closers = ["", ".", " thanks", " - can you check?", "!!", " please hurry", ". This is the third time I'm asking.", " :)"]

    /// A turn with one or two entities.
    package mutating func withEntity() -> LabelledText {
        var t = LabelledText()
        t.add(pick(Self.openers))
        addEntity(to: &t)
        if Int.random(in: 0..<4, using: &rng) == 0 {
            t.add(pick([" and ", ". Also ", "; backup: ", ", or "]))
            addEntity(to: &t)
        }
        t.add(pick(Self.closers))
        return t
    }

    private mutating func addEntity(to t: inout LabelledText) {
        switch Int.random(in: 0..<20, using: &rng) {
        case 0..<4:
            t.add(pick(["my card number is ", "card: ", "I paid with ", "charge it to ", "the Visa ending... no wait, full number ", "use "]))
            t.add(.card, card())
            if Bool.random(using: &rng) {
                t.add(pick([" exp ", ", expiry ", " valid thru ", " expires "]))
                t.add(.expiry, expiry())
                if Bool.random(using: &rng) { t.add(pick([" cvv ", ", CVC: ", " security code "])); t.add(.cvv, cvv()) }
            }
        case 4..<7:
            t.add(pick(["my IBAN is ", "send the refund to ", "account: ", "IBAN ", "please transfer to ", "bank details "]))
            t.add(.iban, iban())
        case 7..<10:
            t.add(pick(["email me at ", "my email is ", "contact: ", "write to ", "it's ", "reply to "]))
            t.add(.email, email())
        case 10..<14:
            t.add(pick(["call me on ", "my number is ", "phone: ", "you can reach me at ", "ring ", "mobile ", "", "tel. "]))
            t.add(.phone, phone())
        case 14:
            if Bool.random(using: &rng) {
                t.add(pick(["my SSN is ", "social security number ", "SSN: "])); t.add(.ssn, ssn())
            } else {
                t.add(pick(["my NI number is ", "national insurance: ", "NINO "])); t.add(.ukNI, nationalInsurance())
            }
        case 15:
            t.add(pick(["my IP is ", "the server at ", "connecting from ", "router address "]))
            t.add(.ip, Bool.random(using: &rng) ? ipv4() : ipv6())
        case 16:
            address(into: &t)
        case 17:
            t.add(pick(["my date of birth is ", "DOB: ", "I was born on ", "birthday "]))
            t.add(.dob, dateOfBirth())
        case 18:
            t.add(pick(["the reset link is ", "open ", "here: ", "I clicked "]))
            t.add(.url, tokenURL())
        default:
            t.add(pick(["contact ", "e-mail ", "or mail "]))
            t.add(.email, email())
        }
    }

    /// A turn without sensitive data that looks like one with it.
    package mutating func piiFree() -> LabelledText {
        var t = LabelledText()
        t.add(pick(Self.openers))
        let d = { (n: Int, r: inout SeededGenerator) in String((0..<n).map { _ in Character(String(Int.random(in: 0...9, using: &r))) }) }
        switch Int.random(in: 0..<16, using: &rng) {
        case 0: t.add("my order number is \(d(4, &rng))-\(d(4, &rng))-\(d(2, &rng))")
        case 1: t.add("order #\(d(8 + Int.random(in: 0...4, using: &rng), &rng)) still hasn't arrived")
        case 2: t.add("it cost $\(Int.random(in: 1...9, using: &rng)),\(d(3, &rng)).\(d(2, &rng)) and I want a refund")
        case 3: t.add("the total was € \(Int.random(in: 10...999, using: &rng)),\(d(2, &rng)) for \(Int.random(in: 2...9, using: &rng)) items")
        case 4: t.add("it shipped on 20\(Int.random(in: 10...29, using: &rng))-0\(Int.random(in: 1...9, using: &rng))-1\(Int.random(in: 0...9, using: &rng)) \(Int.random(in: 10...23, using: &rng)):\(minute()):\(minute())")
        case 5: t.add("delivered \(Int.random(in: 10...28, using: &rng))/0\(Int.random(in: 1...9, using: &rng))/20\(Int.random(in: 10...29, using: &rng)) at \(Int.random(in: 10...23, using: &rng)):\(minute())")
        case 6: t.add("product code SKU-\(d(5, &rng))-XL, model RX-\(d(4, &rng))")
        case 7: t.add("tracking 1Z\(d(3, &rng))AA\(d(10, &rng)) says it's stuck")
        case 8:
            var c = Array(card().utf8)
            // 19 digits in groups hold a 16-digit prefix that may be a valid card followed by its CVV: not PII-free.
            while c.filter(EntityFinder.isDigit).count > 16 { c = Array(card().utf8) }
            let last = c.count - 1
            c[last] = (c[last] - 48 + UInt8.random(in: 1...9, using: &rng)) % 10 + 48   // breaks Luhn
            t.add("I typed \(String(decoding: c, as: UTF8.self)) but it was refused")
        case 9:
            var c = Array(iban().utf8)
            let k = c.lastIndex(where: EntityFinder.isDigit)!
            c[k] = (c[k] - 48 + UInt8.random(in: 1...9, using: &rng)) % 10 + 48       // breaks mod-97
            t.add("is \(String(decoding: c, as: UTF8.self)) right? the bank says no")
        case 10: t.add("app version \(Int.random(in: 1...9, using: &rng)).\(Int.random(in: 0...20, using: &rng)).\(Int.random(in: 0...9, using: &rng)).\(Int.random(in: 0...99, using: &rng)) keeps crashing")
        case 11: t.add("I've waited \(Int.random(in: 2...59, using: &rng)) minutes and \(Int.random(in: 2...9, using: &rng)) agents hung up on me")
        case 12: t.add("invoice \(d(10, &rng)) shows \(Int.random(in: 2...12, using: &rng)) x \(Int.random(in: 100...999, using: &rng)) g")
        case 13: t.add("see https://help.example.com/articles/\(d(6, &rng))-returns-policy for the steps")
        case 14: t.add("ticket \(d(6, &rng)), case ref \(d(9, &rng))")
        default: t.add(pick(["this is ridiculous, I want to speak to a manager", "thank you so much, that fixed it", "why does nobody answer?",
                             "can I change the delivery address?", "what are your opening hours on 24 December?"]))
        }
        t.add(pick(Self.closers))
        return t
    }

    // MARK: Values

    private mutating func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
    private mutating func digits(_ n: Int, first: ClosedRange<Int> = 0...9) -> String {
        (0..<n).map { i in String(Int.random(in: i == 0 ? first : 0...9, using: &rng)) }.joined()
    }

    /// A Luhn-valid card number of a random scheme, grouped as people write it.
    package mutating func card() -> String {
        let (prefix, length): (String, Int) = pick([
            ("4", 16), ("4", 16), ("4", 13), ("5" + digits(1, first: 1...5), 16), (String(Int.random(in: 2221...2720, using: &rng)), 16),
            ("3" + pick(["4", "7"]), 15), ("6011", 16), ("65", 16), (String(Int.random(in: 3528...3589, using: &rng)), 16),
            ("36", 14), ("62", 16), ("62", 19), ("6759", 16), ("2200", 16),
        ])
        var d = Array((prefix + digits(length - 1 - prefix.count)).utf8)
        for check in UInt8(ascii: "0")...UInt8(ascii: "9") where Checksum.luhn(d + [check]) { d.append(check); break }
        let s = String(decoding: d, as: UTF8.self)
        let sep = pick([" ", " ", "-", ""])
        let sizes = length == 15 ? [4, 6, 5] : length == 14 ? [4, 6, 4] : Array(repeating: 4, count: length / 4) + (length % 4 > 0 ? [length % 4] : [])
        var out: [String] = [], at = s.startIndex
        for n in sizes { let e = s.index(at, offsetBy: n); out.append(String(s[at..<e])); at = e }
        return out.joined(separator: sep)
    }

    /// A valid IBAN of a random country, compact or in groups of four.
    package mutating func iban() -> String {
        let country = pick(["DE", "GB", "FR", "ES", "IT", "NL", "BE", "AT", "CH", "PL", "PT", "IE", "SE", "NO", "DK", "FI", "GR", "CZ",
                            "HU", "RO", "LU", "MT", "SA", "AE", "TR", "BR", "IL", "QA", "UA", "LT", "HR", "SI", "CY", "MU"])
        let length = EntityFinder.ibanLengths[country]!
        let lettered: Set<String> = ["GB", "NL", "IE", "MT", "BG", "QA", "CY"]
        var bban = ""
        if lettered.contains(country) { bban = String((0..<4).map { _ in Character(Unicode.Scalar(UInt8.random(in: 65...90, using: &rng))) }) }
        bban += digits(length - 4 - bban.count)
        let r = Checksum.ibanRemainder(Array((country + "00" + bban).utf8))
        let s = country + String(format2(98 - r)) + bban
        guard Bool.random(using: &rng) else { return s }
        return stride(from: 0, to: s.count, by: 4).map { i in
            String(s.dropFirst(i).prefix(4))
        }.joined(separator: " ")
    }

    private func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    private mutating func minute() -> String { format2(Int.random(in: 0...59, using: &rng)) }

    package mutating func email() -> String {
        let user = pick(["john.smith", "maria_g", "k.oconnor", "lucas+support", "anna-lena.mueller", "j", "chen.wei88", "priya.s"]) + (Bool.random(using: &rng) ? digits(2) : "")
        return user + "@" + pick(["gmail.com", "example.co.uk", "web.de", "orange.fr", "mail.example.org", "hotmail.es", "libero.it", "ziggo.nl"])
    }

    /// A phone number in E.164 or a national format of the US, UK, Germany, France, Spain, Italy,
    /// the Netherlands, India or Brazil.
    package mutating func phone() -> String {
        let international = Int.random(in: 0..<3, using: &rng) == 0
        switch Int.random(in: 0..<9, using: &rng) {
        case 0:
            let area = pick(["201", "212", "213", "305", "312", "415", "617", "646", "702", "713", "718", "805", "917", "972"])
            let exchange = digits(3, first: 2...9), line = digits(4)
            if international { return "+1 \(area) \(exchange) \(line)" }
            return pick(["(\(area)) \(exchange)-\(line)", "\(area)-\(exchange)-\(line)", "\(area).\(exchange).\(line)", "\(area) \(exchange) \(line)"])
        case 1:
            if Bool.random(using: &rng) {
                let n = pick(["7400", "7500", "7800", "7900", "7715", "7956"]) + digits(6)
                return international ? "+44 \(n.prefix(4)) \(n.dropFirst(4))" : "0\(n.prefix(4)) \(n.dropFirst(4))"
            }
            let n = digits(1, first: 3...3) + digits(3) + " " + digits(4)
            return international ? "+44 20 \(n)" : "020 \(n)"
        case 2:
            if Bool.random(using: &rng) {
                let n = pick(["151", "152", "160", "170", "171", "172", "176"]) + " " + digits(8, first: 1...9)
                return international ? "+49 \(n)" : "0\(n)"
            }
            let area = pick(["30", "89", "40", "221", "69"])
            let n = digits(7, first: 2...9)
            return international ? "+49 \(area) \(n)" : pick(["0\(area) \(n)", "0\(area)/\(n)", "0\(area)-\(n)"])
        case 3:
            let first = pick(["1", "2", "3", "4", "5", "6", "7"])
            let pairs = (0..<4).map { k in digits(2, first: k == 0 ? (first == "7" ? 3...9 : 1...9) : 0...9) }   // 07 mobiles: 073–079
            return international ? "+33 \(first) " + pairs.joined(separator: " ") : "0\(first) " + pairs.joined(separator: pick([" ", ".", "-"]))
        case 4:
            let n = pick(["6", "71", "72", "73", "74", "91", "93"]) + digits(1) + digits(1)
            let nine = String((n + digits(9 - n.count)).prefix(9))
            let d = nine.map(String.init)
            let threes: String = [d[0..<3], d[3..<6], d[6..<9]].map { $0.joined() }.joined(separator: " ")
            let pairs: String = [d[0..<3], d[3..<5], d[5..<7], d[7..<9]].map { $0.joined() }.joined(separator: " ")
            let grouped = pick([threes, pairs])
            return international ? "+34 \(grouped)" : String(grouped)
        case 5:
            if Bool.random(using: &rng) {
                let n = "3" + digits(1, first: 2...9) + digits(1) + " " + digits(3) + " " + digits(4)
                return international ? "+39 \(n)" : n
            }
            let n = "06 " + digits(4, first: 1...9) + " " + digits(4)
            return international ? "+39 \(n)" : n
        case 6:
            if Bool.random(using: &rng) {
                let n = "6 " + digits(8, first: 1...5)
                return international ? "+31 \(n)" : "0" + pick([n, n.replacingSpace(with: "-")])
            }
            let n = "20 " + digits(3, first: 1...9) + " " + digits(4)
            return international ? "+31 \(n)" : "0\(n)"
        case 7:
            let n = digits(5, first: 6...9) + " " + digits(5)
            return international ? "+91 \(n)" : pick([n, "0" + n])
        default:
            let area = pick(["11", "21", "31", "41", "51", "61", "71", "81"])
            let n = Bool.random(using: &rng) ? "9" + digits(4) + "-" + digits(4) : digits(1, first: 2...5) + digits(3) + "-" + digits(4)
            return international ? "+55 \(area) \(n)" : "(\(area)) \(n)"
        }
    }

    package mutating func ssn() -> String {
        var area = Int.random(in: 1...899, using: &rng)
        if area == 666 { area = 665 }
        let a = String(1000 + area).dropFirst(), g = String(100 + Int.random(in: 1...99, using: &rng)).dropFirst()
        let s = String(10000 + Int.random(in: 1...9999, using: &rng)).dropFirst()
        return "\(a)-\(g)-\(s)"
    }

    package mutating func nationalInsurance() -> String {
        let first = pick(Array("ABCEGHJKLMNOPRSTWXYZ")), second = pick(Array("ABCEGHJKLMNPRSTWXYZ"))
        var prefix = "\(first)\(second)"
        if ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(prefix) { prefix = "AB" }
        let d = digits(6), suffix = pick(["A", "B", "C", "D"])
        return Bool.random(using: &rng) ? prefix + d + suffix : "\(prefix) \(d.prefix(2)) \(d.dropFirst(2).prefix(2)) \(d.suffix(2)) \(suffix)"
    }

    package mutating func ipv4() -> String {
        "\(Int.random(in: 1...223, using: &rng)).\(Int.random(in: 0...255, using: &rng)).\(Int.random(in: 0...255, using: &rng)).\(Int.random(in: 1...254, using: &rng))"
    }

    package mutating func ipv6() -> String {
        let groups = (0..<8).map { _ in String(UInt16.random(in: 0...UInt16.max, using: &rng), radix: 16) }
        return Bool.random(using: &rng) ? groups.joined(separator: ":") : "2001:db8::" + groups.suffix(2).joined(separator: ":")
    }

    private mutating func address(into t: inout LabelledText) {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            let pc = pick(["SW1A 1AA", "M1 1AE", "EC1A 1BB", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "NW1 6XE"])
            t.add("I live at \(Int.random(in: 1...200, using: &rng)) \(pick(["High Street", "Baker Street", "Church Road", "Mill Lane"])), London ")
            t.add(.postcode, pc)
        case 1:
            t.add("ship to \(Int.random(in: 1...9999, using: &rng)) \(pick(["Main St", "Oak Avenue", "Elm Street", "Sunset Blvd"])), \(pick(["Springfield, IL", "Austin, TX", "Denver, CO"])) ")
            t.add(.postcode, digits(5, first: 1...9) + (Bool.random(using: &rng) ? "-" + digits(4) : ""))
        case 2:
            t.add("meine Adresse: \(pick(["Hauptstraße", "Bahnhofstr.", "Lindenweg", "Schillerplatz"])) \(Int.random(in: 1...99, using: &rng)), ")
            t.add(.postcode, digits(5, first: 0...9))
            t.add(" \(pick(["Berlin", "München", "Hamburg", "Köln"]))")
        default:
            t.add("mijn adres is \(pick(["Damrak", "Keizersgracht", "Coolsingel", "Stationsplein"])) \(Int.random(in: 1...300, using: &rng)), ")
            t.add(.postcode, digits(4, first: 1...9) + " " + pick(["AB", "LG", "XK", "CD", "EN"]))
            t.add(" \(pick(["Amsterdam", "Rotterdam", "Utrecht"]))")
        }
    }

    private mutating func dateOfBirth() -> String {
        let day = Int.random(in: 1...28, using: &rng), month = Int.random(in: 1...12, using: &rng), year = Int.random(in: 1940...2006, using: &rng)
        let names = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        return pick(["\(format2(day))/\(format2(month))/\(year)", "\(year)-\(format2(month))-\(format2(day))", "\(day).\(month).\(year)",
                     "\(day) \(names[month - 1]) \(year)", "\(names[month - 1]) \(day), \(year)"])
    }

    private mutating func expiry() -> String {
        let m = Int.random(in: 1...12, using: &rng)
        return pick(["\(format2(m))/\(Int.random(in: 25...33, using: &rng))", "\(format2(m))/20\(Int.random(in: 25...33, using: &rng))", "\(m)/\(Int.random(in: 25...33, using: &rng))"])
    }

    private mutating func cvv() -> String { digits(Bool.random(using: &rng) ? 3 : 4) }

    private mutating func tokenURL() -> String {
        let token = (0..<32).map { _ in pick(Array("abcdef0123456789")) }.map(String.init).joined()
        return pick(["https://shop.example.com/account/reset?token=\(token)", "https://user\(digits(2)):hunter\(digits(2))@ftp.example.net/files",
                     "https://app.example.com/session/\(token)", "http://example.org/login?user=me&password=secret\(digits(3))",
                     "https://files.example.com/dl?id=\(digits(4))&sig=\(token)"])
    }
}

private extension String {
    func replacingSpace(with s: String) -> String { split(separator: " ").joined(separator: s) }
}
