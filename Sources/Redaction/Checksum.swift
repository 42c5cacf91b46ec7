/// The check-digit algorithms of card numbers and IBANs, over ASCII bytes.
enum Checksum {
    /// Whether `digits` (ASCII '0'...'9') pass the Luhn check.
    static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            var v = Int(d - 48)
            if i % 2 == 1 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        return sum % 10 == 0
    }

    /// ISO 7064 mod-97 of an IBAN (upper-case letters and digits, check digits included):
    /// 1 for a valid one.
    static func ibanRemainder(_ chars: [UInt8]) -> Int {
        guard chars.count > 4 else { return -1 }
        var r = 0
        for c in chars[4...] + chars[..<4] {
            if c >= 48 && c <= 57 {
                r = (r * 10 + Int(c - 48)) % 97
            } else if c >= 65 && c <= 90 {
                r = (r * 100 + Int(c - 55)) % 97
            } else {
                return -1
            }
        }
        return r
    }
}
