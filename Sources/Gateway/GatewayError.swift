import Contracts
import HTTPTypes

/// An error the HTTP gateway answers with: a status, a stable code, a message naming the field
/// at fault, as JSON (`{"error": {"code", "message", "field"}}`, `Schemas/openapi.json`).
public struct GatewayError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in a form code can switch on; each has its HTTP status.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        let status: HTTPResponse.Status
        private init(_ raw: String, _ status: HTTPResponse.Status) {
            self.raw = raw
            self.status = status
        }
        public var description: String { raw }

        /// No key, or a key that is not configured (401).
        public static let unauthorized = Code("unauthorized", .unauthorized)
        /// The key's tenant may not see what was asked for (403).
        public static let forbidden = Code("forbidden", .forbidden)
        /// Nothing at that path, or no such dialogue (404).
        public static let notFound = Code("not_found", .notFound)
        /// The body is larger than the limit (413).
        public static let bodyTooLarge = Code("body_too_large", .contentTooLarge)
        /// The body is not JSON, or not a turn or a dialogue (422).
        public static let invalidRequest = Code("invalid_request", .unprocessableContent)
        /// A turn fails the turn schema or the stream's limits (422).
        public static let invalidTurn = Code("invalid_turn", .unprocessableContent)
        /// More turns than a request may carry (422).
        public static let tooManyTurns = Code("too_many_turns", .unprocessableContent)
        /// Too many requests in flight (429, with `Retry-After`).
        public static let overloaded = Code("overloaded", .tooManyRequests)
        /// The key's tenant has spent its model budget for now (429, with `Retry-After`).
        public static let rateLimited = Code("rate_limited", .tooManyRequests)
        /// Too many failed authentications from the client's address (429, with `Retry-After`).
        public static let throttled = Code("throttled", .tooManyRequests)
        /// The server is stopping, or the model failed (503).
        public static let unavailable = Code("unavailable", .serviceUnavailable)
        /// Anything else that went wrong on the server (500); the cause is in the log only.
        public static let internalError = Code("internal_error", .internalServerError)
    }

    public var code: Code
    /// A human-readable message naming the field involved.
    public var message: String
    /// The request field at fault (`body`, `turns`, `turns[2].text`), when there is one.
    public var field: String?
    public var cause: (any Error & Sendable)?
    /// Whether sending the same request again may succeed.
    public var isRetriable: Bool
    /// The seconds a 429 asks the client to wait, when not the configured default.
    public var retryAfterSeconds: Int?

    public init(_ code: Code, _ message: String, field: String? = nil, cause: (any Error & Sendable)? = nil, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
        self.isRetriable = isRetriable
    }

    /// The HTTP status this error is answered with.
    public var status: HTTPResponse.Status { code.status }

    public var description: String {
        var s = "GatewayError(\(code)): \(message)"
        if let cause { s += " (cause: \(cause))" }
        return s
    }

    /// The response body.
    var json: [UInt8] {
        var w = JSONWriter(capacity: 128 + message.utf8.count)
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.key("code"); w.string(code.raw)
        if let field { w.key("field"); w.string(field) }
        w.key("message"); w.string(message)
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
