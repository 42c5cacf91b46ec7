/// Writes JSON text the way `JSONEncoder` with `.withoutEscapingSlashes` does, for hot paths
/// that cannot afford `Encodable`'s boxing: shortest round-trip numbers with a trailing `.0`
/// dropped, `"`, `\` and control characters escaped (`\b \f \n \r \t`, others `\u00xx`),
/// everything else as UTF-8. The caller writes object keys in sorted order.
package struct JSONWriter {
    package private(set) var bytes: [UInt8] = []
    /// Whether the innermost open object or array already has a member.
    private var hasMember: [Bool] = []
    /// A key was just written: its value needs no comma.
    private var afterKey = false

    package init(capacity: Int = 1_024) { bytes.reserveCapacity(capacity) }

    /// Thrown for a number JSON cannot carry (NaN, infinity).
    package struct InvalidNumber: Error, CustomStringConvertible {
        package var description: String
    }

    package mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); hasMember.append(false) }
    package mutating func endObject() { hasMember.removeLast(); bytes.append(UInt8(ascii: "}")) }

    /// Starts an object member: the comma before it, when needed, and `"key":`.
    package mutating func key(_ k: String) {
        separate()
        quoted(k)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    package mutating func string(_ s: String) {
        separate()
        quoted(s)
    }

    private mutating func quoted(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        let hex = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: bytes += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    package mutating func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ x: F) throws {
        guard x.isFinite else { throw InvalidNumber(description: "\(x) is not a JSON number") }
        separate()
        var text = x.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes += text.utf8
    }

    package mutating func number<I: BinaryInteger>(_ i: I) { separate(); bytes += String(i).utf8 }

    package mutating func bool(_ b: Bool) { separate(); bytes += (b ? "true" : "false").utf8 }

    /// Already-encoded JSON (from `JSONEncoder` with the same options), as one value.
    package mutating func raw(_ json: some Sequence<UInt8>) { separate(); bytes += json }

    /// The comma between members, and marks the innermost container as having one.
    private mutating func separate() {
        if afterKey { afterKey = false; return }
        guard let last = hasMember.last else { return }
        if last { bytes.append(UInt8(ascii: ",")) }
        hasMember[hasMember.count - 1] = true
    }
}
