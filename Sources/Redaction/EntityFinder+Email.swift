extension EntityFinder {
    /// E-mail addresses: a local part, `@`, and a domain of dot-separated labels ending in a
    /// top-level domain of two or more letters.
    func emails() -> [Finding] {
        var out: [Finding] = []
        var from = 0
        for at in bytes.indices where bytes[at] == UInt8(ascii: "@") && at >= from {
            var s = at
            while s > 0, Self.isLocalPartByte(bytes[s - 1]) { s -= 1 }
            while s < at, bytes[s] == UInt8(ascii: ".") { s += 1 }
            guard s < at else { continue }
            var e = at + 1, lastDot = -1
            while e < count, Self.isAlnum(bytes[e]) || bytes[e] == UInt8(ascii: "-") || (bytes[e] == UInt8(ascii: ".") && e + 1 < count && Self.isAlnum(bytes[e + 1]) && Self.isAlnum(bytes[e - 1])) {
                if bytes[e] == UInt8(ascii: ".") { lastDot = e }
                e += 1
            }
            guard lastDot > at + 1, e - lastDot - 1 >= 2, bytes[(lastDot + 1)..<e].allSatisfy(Self.isLetter) else { continue }
            out.append(Finding(kind: .email, range: s..<e, score: 0.95))
            from = e
        }
        return out
    }

    static func isLocalPartByte(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "%") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }
}
