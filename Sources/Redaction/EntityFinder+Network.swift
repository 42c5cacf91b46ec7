#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension EntityFinder {
    /// Query, fragment or path parameter names whose values are secrets.
    static let secretParameters: Set<String> = [
        "token", "access_token", "refresh_token", "id_token", "auth", "auth_token", "authorization", "key", "api_key", "apikey",
        "secret", "client_secret", "password", "pass", "passwd", "pwd", "sig", "signature", "session", "sessionid", "session_id",
        "sid", "code", "jwt", "otp", "ticket", "reset", "passcode", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
    ]

    /// URLs (`scheme://…` or `www.…`) that carry credentials (`user:pass@`), a secret parameter
    /// (`?token=…`), or a token-like part (16 or more letters and digits, both present, not split
    /// by `-` or `_`).
    func urls() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i < count {
            var start = -1, rest = i
            if bytes[i] == UInt8(ascii: ":"), i + 2 < count, bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/") {
                var s = i
                while s > 0, Self.isLetter(bytes[s - 1]) || bytes[s - 1] == UInt8(ascii: "+") { s -= 1 }
                if i - s >= 2 { start = s; rest = i + 3 }
            } else if lower[i] == UInt8(ascii: "w"), startsWord(i), i + 4 < count, lower[i..<(i + 4)].elementsEqual("www.".utf8) {
                start = i; rest = i + 4
            }
            guard start >= 0 else { i += 1; continue }
            var e = rest
            while e < count, bytes[e] > 32, bytes[e] < 0x7F, !"\"'<>`".utf8.contains(bytes[e]) { e += 1 }
            while e > rest, ".,;:!?)]".utf8.contains(bytes[e - 1]) { e -= 1 }
            if carriesSecret(bytes[rest..<e]) { out.append(Finding(kind: .url, range: start..<e, score: 0.95)) }
            i = max(e, i + 1)
        }
        return out
    }

    private func carriesSecret(_ url: ArraySlice<UInt8>) -> Bool {
        let authority = url.prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        if authority.contains(UInt8(ascii: "@")) { return true }
        for piece in url.split(whereSeparator: { "/?#&;".utf8.contains($0) }) {
            if let eq = piece.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: piece[piece.startIndex..<eq], as: UTF8.self).lowercased()
                if Self.secretParameters.contains(name), eq + 1 < piece.endIndex { return true }
                if Self.looksLikeToken(piece[(eq + 1)...]) { return true }
            } else if Self.looksLikeToken(piece) {
                return true
            }
        }
        return false
    }

    /// A part of 16 or more letters and digits, with both, between `-`, `_` or `.` (not a slug).
    static func looksLikeToken(_ s: ArraySlice<UInt8>) -> Bool {
        s.split(whereSeparator: { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }).contains { part in
            part.count >= 16 && part.allSatisfy(isAlnum) && part.contains(where: isDigit) && part.contains(where: isLetter)
        }
    }

    static let ipWords = words("ip", "address", "server", "host", "router")
    static let versionWords = words("version", "v", "ver", "release", "build")

    /// IPv4 (four dotted octets) and IPv6 addresses (validated by `inet_pton`).
    func ipAddresses() -> [Finding] {
        var out: [Finding] = []
        var i = 0
        while i < count {
            guard startsWord(i) || bytes[i] == UInt8(ascii: ":"), Self.isHex(bytes[i]) || bytes[i] == UInt8(ascii: ":") else { i += 1; continue }
            var e = i, colons = 0, dots = 0
            while e < count, Self.isHex(bytes[e]) || bytes[e] == UInt8(ascii: ":") || bytes[e] == UInt8(ascii: ".") {
                if bytes[e] == UInt8(ascii: ":") { colons += 1 } else if bytes[e] == UInt8(ascii: ".") { dots += 1 }
                e += 1
            }
            while e > i, bytes[e - 1] == UInt8(ascii: ".") || (bytes[e - 1] == UInt8(ascii: ":") && !(e - 2 >= i && bytes[e - 2] == UInt8(ascii: ":"))) {
                if bytes[e - 1] == UInt8(ascii: ".") { dots -= 1 } else { colons -= 1 }
                e -= 1
            }
            if e > i, endsWord(e), dots == 3 || colons >= 2 {
                let token = String(decoding: bytes[i..<e], as: UTF8.self)
                let range = i..<e
                let afterNumber = i >= 2 && bytes[i - 1] == 32 && Self.isDigit(bytes[i - 2])   // "01 90.45.45.47" is a phone
                if colons == 0, dots == 3, !afterNumber, Self.isIPv4(token) {
                    out.append(Finding(kind: .ip, range: range, score: score(0.75, at: range, positive: Self.ipWords, negative: Self.versionWords, window: 12)))
                } else if colons >= 2, Self.isIPv6(token), bytes[i..<e].contains(where: { Self.isHex($0) }) {
                    out.append(Finding(kind: .ip, range: range, score: 0.8))
                }
            }
            i = max(e, i + 1)
        }
        return out
    }

    static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 97 && b | 0x20 <= 102) }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            (1...3).contains(p.count) && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && Int(p)! <= 255 && (p.count == 1 || p.first != "0")
        }
    }

    static func isIPv6(_ s: String) -> Bool {
        var addr = in6_addr()
        return inet_pton(AF_INET6, s, &addr) == 1
    }
}
