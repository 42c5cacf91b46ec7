/// An error from the model layer: loading weights, tokenising, running the encoder or the heads.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in a form code can switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// A model file is missing or unreadable.
        public static let fileNotFound = Code("file_not_found")
        /// A model file is malformed: bad header, truncated data, wrong dtype or shape.
        public static let invalidFile = Code("invalid_file")
        /// An input does not fit the model (empty batch, too many tokens, bad ids).
        public static let invalidInput = Code("invalid_input")
        /// An ODE solver hit its step-count limit or its minimum step size (a stiff or blowing-up system).
        public static let solverStepLimit = Code("solver_step_limit")
        /// An ODE solver produced a non-finite state (NaN or infinity).
        public static let solverNonFinite = Code("solver_non_finite")
    }

    /// The kind of error.
    public var code: Code
    /// A human-readable message naming the file, tensor or offset involved.
    public var message: String
    /// The underlying error, if any.
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
        var s = "ModelError(\(code)): \(message)"
        if let cause { s += " (cause: \(cause))" }
        return s
    }
}
