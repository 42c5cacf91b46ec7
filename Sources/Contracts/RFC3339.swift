import Foundation

/// RFC 3339 date-times (`2026-11-25T12:00:00Z`, `2026-11-25T13:00:00.250+01:00`), parsed by hand:
/// the stream checks one per record, and Foundation's parsers cost more than the rest of validation.
public enum RFC3339 {
    /// The instant `s` names, or nil unless it is `YYYY-MM-DD(T|t| )hh:mm:ss[.frac](Z|z|±hh:mm)`
    /// with every field in range (leap second `:60` accepted).
    public static func date(_ s: String) -> Date? {
        var s = s
        return s.withUTF8 { secondsSince1970($0) }.map { Date(timeIntervalSince1970: $0) }
    }

    static func secondsSince1970(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0
        func number(_ n: Int, _ range: ClosedRange<Int>) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in i..<(i + n) {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[k]) else { return nil }
                v = v * 10 + Int(b[k] - UInt8(ascii: "0"))
            }
            i += n
            return range.contains(v) ? v : nil
        }
        func skip(_ allowed: String) -> UInt8? {
            guard i < b.count, allowed.utf8.contains(b[i]) else { return nil }
            i += 1
            return b[i - 1]
        }
        guard let year = number(4, 0...9999), skip("-") != nil, let month = number(2, 1...12), skip("-") != nil,
              let day = number(2, 1...daysIn(month: month, year: year)), skip("Tt ") != nil,
              let hour = number(2, 0...23), skip(":") != nil, let minute = number(2, 0...59), skip(":") != nil,
              let second = number(2, 0...60) else { return nil }
        var fraction = 0.0
        if skip(".") != nil {
            var scale = 0.1
            let start = i
            while i < b.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) {
                fraction += Double(b[i] - UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard let zone = skip("Zz+-") else { return nil }
        var offset = 0
        if zone == UInt8(ascii: "+") || zone == UInt8(ascii: "-") {
            guard let h = number(2, 0...23), skip(":") != nil, let m = number(2, 0...59) else { return nil }
            offset = (zone == UInt8(ascii: "-") ? -1 : 1) * (h * 3600 + m * 60)
        }
        guard i == b.count else { return nil }
        let days = daysSince1970(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
