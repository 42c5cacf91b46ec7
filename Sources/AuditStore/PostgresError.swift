/// An error from the PostgreSQL audit store.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in a form code can switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// The server could not be reached or the connection broke.
        public static let connection = Code("connection")
        /// A statement failed; see ``PostgresError/sqlState``.
        public static let query = Code("query")
        /// A migration file could not be read or applied.
        public static let migration = Code("migration")
    }

    /// The kind of error.
    public var code: Code
    /// A human-readable message; never contains a password.
    public var message: String
    /// The server's SQLSTATE, when it sent one (e.g. `23505`).
    public var sqlState: String?
    /// Retrying later may succeed (connection loss, server shutting down, serialization failure).
    public var isRetriable: Bool
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, sqlState: String? = nil, isRetriable: Bool = false,
                cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.isRetriable = isRetriable
        self.cause = cause
    }

    /// Whether a SQLSTATE means "try again later": connection exceptions (08), insufficient
    /// resources (53), operator intervention (57: shutdown, crash) and serialization failures.
    static func retriable(sqlState: String?) -> Bool {
        guard let s = sqlState else { return true }
        return s.hasPrefix("08") || s.hasPrefix("53") || s.hasPrefix("57") || s == "40001" || s == "40P01"
    }

    public var description: String {
        var s = "PostgresError(\(code)"
        if let sqlState { s += " \(sqlState)" }
        s += "): \(message)"
        if let cause { s += " (cause: \(cause))" }
        return s
    }
}
