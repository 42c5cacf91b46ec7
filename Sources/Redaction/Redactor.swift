import Crypto
import Foundation

/// Finds sensitive data in texts and replaces it as a ``RedactionPolicy`` says. Immutable and
/// safe to share; `redact` costs tens of microseconds for a chat turn.
public struct Redactor: Sendable {
    /// The policy applied.
    public let policy: RedactionPolicy
    private let key: SymmetricKey?

    /// The default policy's redactor: every built-in entity, as type tags.
    public static let standard = try! Redactor()

    /// - Throws: `RedactionError(.invalidPolicy)` when the policy does not validate.
    public init(policy: RedactionPolicy = RedactionPolicy()) throws(RedactionError) {
        try policy.validate()
        self.policy = policy
        key = policy.hashKey.map { SymmetricKey(data: $0) }
    }

    /// `text` with every finding replaced, and the number of findings per entity.
    public func redact(_ text: String) -> RedactedText { redact(text, fragments: []).text }

    /// `text` redacted, and `fragments` of it (words as written, such as an explanation's) with
    /// the parts inside a finding replaced as in the text: the words of a card number written in
    /// groups each become `[CARD]`. A fragment not found in `text` is redacted on its own.
    public func redact(_ text: String, fragments: [String]) -> (text: RedactedText, fragments: [String]) {
        let found = findings(in: text)
        guard !found.isEmpty else { return (RedactedText(text: text, counts: [:]), fragments.map { redact($0).text }) }
        let bytes = Array(text.utf8)
        let replacements = found.map { Array(replacement(for: bytes[$0.range], kind: $0.kind).utf8) }
        func rewrite(_ range: Range<Int>) -> [UInt8] {
            var out: [UInt8] = [], at = range.lowerBound
            for (f, r) in zip(found, replacements) where f.range.overlaps(range) {
                if f.range.lowerBound > at { out += bytes[at..<f.range.lowerBound] }
                out += r
                at = min(f.range.upperBound, range.upperBound)
            }
            return out + bytes[at..<range.upperBound]
        }
        var counts: [String: Int] = [:]
        for f in found { counts[f.kind.name, default: 0] += 1 }
        let redacted = RedactedText(text: String(decoding: rewrite(0..<bytes.count), as: UTF8.self), counts: counts)
        let parts = fragments.map { fragment -> String in
            let f = Array(fragment.utf8)
            guard !f.isEmpty, let start = (0...max(0, bytes.count - f.count)).first(where: { bytes[$0..<min(bytes.count, $0 + f.count)].elementsEqual(f) }) else {
                return redact(fragment).text
            }
            return String(decoding: rewrite(start..<(start + f.count)), as: UTF8.self)
        }
        return (redacted, parts)
    }

    /// The findings to replace, in text order: those at or above the threshold, overlaps resolved
    /// for the more confident, then the longer finding; then those of the policy's entities (so
    /// an SSN a tenant keeps does not become a phone number) and the custom patterns.
    func findings(in text: String) -> [Finding] {
        guard !policy.entities.isEmpty || !policy.customPatterns.isEmpty else { return [] }
        let finder = EntityFinder(text, phoneRegions: policy.phoneRegions)
        var candidates = finder.findings(of: Set(EntityKind.builtIn)).filter { $0.score >= EntityFinder.threshold }
        for p in policy.customPatterns {
            let ns = text as NSString
            for m in p.regex.regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) where m.range.length > 0 {
                guard let r = Range(m.range, in: text) else { continue }
                let lower = text.utf8.distance(from: text.startIndex, to: r.lowerBound)
                candidates.append(Finding(kind: p.kind, range: lower..<(lower + text.utf8.distance(from: r.lowerBound, to: r.upperBound)), score: 1))
            }
        }
        candidates.sort { ($0.score, $0.range.count, -$0.range.lowerBound) > ($1.score, $1.range.count, -$1.range.lowerBound) }
        var kept: [Finding] = []
        for c in candidates where !kept.contains(where: { $0.range.overlaps(c.range) }) { kept.append(c) }
        return kept.filter { f in policy.entities.contains(f.kind) || policy.customPatterns.contains { $0.kind == f.kind } }.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    private func replacement(for value: ArraySlice<UInt8>, kind: EntityKind) -> String {
        switch policy.mode(for: kind) {
        case .tag:
            return kind.tag
        case .partial:
            if kind == .email, let at = value.firstIndex(of: UInt8(ascii: "@")) {
                return "***" + String(decoding: value[at...], as: UTF8.self)
            }
            var keep = 4
            let masked = value.reversed().map { b -> UInt8 in
                guard EntityFinder.isAlnum(b) else { return b }
                keep -= 1
                return keep >= 0 ? b : UInt8(ascii: "*")
            }
            return String(decoding: masked.reversed(), as: UTF8.self)
        case .hash:
            let normal = value.filter(EntityFinder.isAlnum).map { EntityFinder.isLetter($0) ? $0 & 0xDF : $0 }
            let mac = HMAC<SHA256>.authenticationCode(for: kind == .email || kind == .url ? Array(value) : normal, using: key!)
            let hex = mac.prefix(8).map { String(format: "%02x", $0) }.joined()
            return "[" + kind.name.uppercased() + ":" + hex + "]"
        }
    }
}
