/// An error from the redaction module: a policy that cannot be applied.
public struct RedactionError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in a form code can switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// A policy setting is malformed or contradicts another; the message names it.
        public static let invalidPolicy = Code("invalid_policy")
    }

    public var code: Code
    /// A human-readable message naming the setting involved.
    public var message: String
    public var cause: (any Error & Sendable)?
    /// Whether retrying the same operation may succeed.
    public var isRetriable: Bool

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.cause = cause
        self.isRetriable = isRetriable
    }

    public var description: String {
        var s = "RedactionError(\(code)): \(message)"
        if let cause { s += " (cause: \(cause))" }
        return s
    }
}
