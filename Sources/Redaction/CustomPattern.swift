import Foundation

/// A tenant's own named pattern (an ICU regular expression); its matches are redacted like a
/// built-in entity of kind `EntityKind(name)`.
public struct CustomPattern: Sendable, Equatable {
    /// The entity this pattern finds.
    public let kind: EntityKind
    /// The regular expression, as given.
    public let pattern: String
    let regex: SendableRegex

    /// - Throws: `RedactionError(.invalidPolicy)` when the name is not lower-case letters, digits
    ///   and `_`, names a built-in entity, or the pattern does not compile.
    public init(name: String, pattern: String) throws(RedactionError) {
        guard !name.isEmpty, name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }) else {
            throw RedactionError(.invalidPolicy, "pattern name '\(name)' must be lower-case letters, digits and _")
        }
        guard EntityKind.builtIn(named: name) == nil else {
            throw RedactionError(.invalidPolicy, "pattern name '\(name)' is a built-in entity's")
        }
        do {
            regex = SendableRegex(try NSRegularExpression(pattern: pattern))
        } catch {
            throw RedactionError(.invalidPolicy, "pattern '\(name)' does not compile: \(pattern) (\(error.localizedDescription))")
        }
        self.kind = EntityKind(name)
        self.pattern = pattern
    }

    public static func == (a: CustomPattern, b: CustomPattern) -> Bool { a.kind == b.kind && a.pattern == b.pattern }
}

/// NSRegularExpression is immutable once made and documented as safe to share between threads.
struct SendableRegex: @unchecked Sendable {
    let regex: NSRegularExpression
    init(_ regex: NSRegularExpression) { self.regex = regex }
}
