extension EntityFinder {
    /// IBAN lengths by country (ISO 13616 registry).
    static let ibanLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
        "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
        "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
        "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
        "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
        "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
        "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
        "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    ]

    /// IBANs: a country's length of letters and digits, compact or in groups split by single
    /// spaces, any case, passing mod-97.
    func ibans() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i + 4 < count {
            guard Self.isLetter(bytes[i]), Self.isLetter(bytes[i + 1]), Self.isDigit(bytes[i + 2]), Self.isDigit(bytes[i + 3]), startsWord(i),
                  let length = Self.ibanLengths[String(decoding: [bytes[i] & 0xDF, bytes[i + 1] & 0xDF], as: UTF8.self)] else { i += 1; continue }
            var chars: [UInt8] = [], j = i
            while j < count, chars.count < length {
                if Self.isAlnum(bytes[j]) {
                    chars.append(Self.isLetter(bytes[j]) ? bytes[j] & 0xDF : bytes[j]); j += 1
                } else if bytes[j] == 32, chars.count % 4 == 0, j + 1 < count, Self.isAlnum(bytes[j + 1]) {
                    j += 1
                } else {
                    break
                }
            }
            if chars.count == length, endsWord(j), Checksum.ibanRemainder(chars) == 1 {
                out.append(Finding(kind: .iban, range: i..<j, score: 0.95))
                i = j
            } else {
                i += 1
            }
        }
        return out
    }
}
