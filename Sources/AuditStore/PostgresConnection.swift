import CLibPQ
import Foundation
import Synchronization

/// One libpq connection. Every call blocks; ``run(timeout:_:)`` runs a closure on the
/// connection's own serial queue so async callers never block Swift's cooperative pool.
public final class PostgresConnection: @unchecked Sendable {
    private var conn: OpaquePointer?
    private let conninfo: String
    private let queue: DispatchQueue
    private let watch = Mutex(Watch())
    /// The URL with any password replaced by `***`, for logs and errors.
    public let redactedURL: String

    /// Connects to a `postgresql://` URL or a libpq keyword/value string. TLS follows the URL's `sslmode`;
    /// timeouts the URL leaves out come from ``defaultSettings``.
    public init(url: String) throws {
        conninfo = Self.withDefaultSettings(url)
        redactedURL = Self.redact(url)
        queue = DispatchQueue(label: "postgres.connection")
        try connect()
    }

    deinit {
        if let conn { PQfinish(conn) }
    }

    /// Runs `body` on the connection's queue.
    ///
    /// With a `timeout`, a `body` still running when it expires has its connection's socket shut
    /// down, so the libpq call it is blocked in fails at once, and `run` throws a retriable
    /// ``PostgresError/Code/connection`` error; the next call reconnects. That covers a server that
    /// keeps its connections open but stops answering (stopped, or stuck on storage), which
    /// libpq's own timeouts do not see: the server's kernel still acknowledges every packet.
    public func run<T: Sendable>(timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                self.startWatch(timeout)
                let result = Result { try body(self) }
                let timedOut = self.watch.withLock { w in
                    defer { w.running = false; w.timedOut = false }
                    return w.timedOut
                }
                guard timedOut, let timeout else { return continuation.resume(with: result) }
                var cause: (any Error)?
                if case .failure(let e) = result { cause = e }
                continuation.resume(throwing: PostgresError(
                    .connection, "\(self.redactedURL) did not answer within \(timeout); the connection was dropped",
                    isRetriable: true, cause: cause))
            }
        }
    }

    /// The socket of the open connection and the operation in flight, shared with the operation's
    /// watchdog, which runs on another thread.
    private struct Watch {
        var socket: Int32 = -1
        var operation: UInt64 = 0
        var running = false
        var timedOut = false
    }

    private func startWatch(_ timeout: Duration?) {
        let operation = watch.withLock { w in
            w.operation &+= 1
            w.running = true
            return w.operation
        }
        guard let timeout else { return }
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in
            self?.watch.withLock { w in
                guard w.running, w.operation == operation, w.socket >= 0 else { return }
                w.timedOut = true
                _ = shutdown(w.socket, Int32(SHUT_RDWR))
            }
        }
    }

    private func connect() throws {
        watch.withLock { $0.socket = -1 }  // before PQfinish closes it: the descriptor may be reused
        if let conn { PQfinish(conn) }
        conn = PQconnectdb(conninfo)
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            let message = conn.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            throw PostgresError(.connection, "cannot connect to \(redactedURL): \(message.trimmingCharacters(in: .whitespacesAndNewlines))",
                                isRetriable: true)
        }
        let socket = PQsocket(conn)
        watch.withLock { $0.socket = socket }
        _ = PQsetClientEncoding(conn, "UTF8")
        // Server notices ("relation already exists, skipping") are not for the user's terminal.
        PQclear(PQexec(conn, "SET client_min_messages TO warning"))
    }

    /// Reconnects if the connection is broken. Blocks.
    public func ensureConnected() throws {
        if conn == nil || PQstatus(conn) != CONNECTION_OK { try connect() }
    }

    /// Runs SQL (one or more statements, no parameters). Blocks.
    public func execute(_ sql: String) throws {
        try ensureConnected()
        let res = PQexec(conn, sql)
        defer { PQclear(res) }
        try check(res, sql)
    }

    /// Runs a parameterised query and returns its rows as text (nil for NULL). Blocks.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        try ensureConnected()
        let res = withCStrings(parameters) { values in
            PQexecParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(res) }
        try check(res, sql)
        let rows = Int(PQntuples(res)), cols = Int(PQnfields(res))
        return (0..<rows).map { r in
            (0..<cols).map { c in
                PQgetisnull(res, Int32(r), Int32(c)) != 0 ? nil : String(cString: PQgetvalue(res, Int32(r), Int32(c)))
            }
        }
    }

    /// Streams `data` (COPY text format) into `COPY … FROM STDIN`. Blocks.
    public func copyIn(_ copySQL: String, _ data: [UInt8]) throws {
        try ensureConnected()
        let res = PQexec(conn, copySQL)
        guard PQresultStatus(res) == PGRES_COPY_IN else {
            defer { PQclear(res) }
            try check(res, copySQL)
            throw PostgresError(.query, "\(copySQL) did not start a COPY")
        }
        PQclear(res)
        let chunk = 256 * 1024
        var start = 0
        try data.withUnsafeBufferPointer { buf in
            try buf.withMemoryRebound(to: CChar.self) { chars in
                while start < chars.count {
                    let n = min(chunk, chars.count - start)
                    guard PQputCopyData(conn, chars.baseAddress! + start, Int32(n)) == 1 else {
                        throw connectionError("COPY data")
                    }
                    start += n
                }
            }
        }
        guard PQputCopyEnd(conn, nil) == 1 else { throw connectionError("COPY end") }
        while let r = PQgetResult(conn) {
            defer { PQclear(r) }
            try check(r, copySQL)
        }
    }

    private func connectionError(_ what: String) -> PostgresError {
        PostgresError(.connection, "\(what): \(String(cString: PQerrorMessage(conn)))", isRetriable: true)
    }

    private func check(_ res: OpaquePointer?, _ sql: String) throws {
        let status = PQresultStatus(res)
        guard status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_COPY_IN else { return }
        let message = res.map { String(cString: PQresultErrorMessage($0)) } ?? String(cString: PQerrorMessage(conn))
        // PG_DIAG_SQLSTATE is the character 'C'.
        let state = res.flatMap { PQresultErrorField($0, 67) }.map { String(cString: $0) }
        let broken = PQstatus(conn) != CONNECTION_OK
        let firstLine = sql.split(separator: "\n").first.map(String.init) ?? sql
        throw PostgresError(broken ? .connection : .query,
                            "\(message.trimmingCharacters(in: .whitespacesAndNewlines)) [in: \(firstLine.prefix(80))]",
                            sqlState: state, isRetriable: broken || PostgresError.retriable(sqlState: state))
    }

    /// libpq settings added where the URL does not give them. A server that does not answer, or a
    /// connection that died silently (a network partition), then fails within about a minute, and
    /// the caller's retries take over, instead of blocking for as long as the kernel's TCP defaults
    /// allow (hours).
    static let defaultSettings: KeyValuePairs<String, String> = [
        "connect_timeout": "10", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3",
        "tcp_user_timeout": "60000",
    ]

    /// `url` with the ``defaultSettings`` it does not set: as query parameters of a URL, or as
    /// `key=value` pairs of a keyword/value string.
    static func withDefaultSettings(_ url: String) -> String {
        let isURL = url.hasPrefix("postgresql://") || url.hasPrefix("postgres://")
        let query = isURL ? url.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? "" : ""
        var out = url
        for (key, value) in defaultSettings {
            if isURL {
                guard !query.split(separator: "&").contains(where: { $0.hasPrefix(key + "=") }) else { continue }
                out += (out.contains("?") ? "&" : "?") + "\(key)=\(value)"
            } else {
                guard url.range(of: "(^|\\s)\(key)\\s*=", options: .regularExpression) == nil else { continue }
                out += (out.isEmpty ? "" : " ") + "\(key)=\(value)"
            }
        }
        return out
    }

    /// Replaces the password in a URL (`postgresql://user:secret@host`) or keyword string (`password=secret`).
    static func redact(_ url: String) -> String {
        var s = url
        if let scheme = s.range(of: "://"), let at = s[scheme.upperBound...].firstIndex(of: "@") {
            let userinfo = s[scheme.upperBound..<at]
            if let colon = userinfo.firstIndex(of: ":") { s.replaceSubrange(s.index(after: colon)..<at, with: "***") }
        }
        if let r = s.range(of: #"password=[^&\s]*"#, options: .regularExpression) { s.replaceSubrange(r, with: "password=***") }
        return s
    }
}

private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let dup = strings.map { $0.map { strdup($0)! } }
    defer { dup.forEach { free($0) } }
    return body(dup.map { $0.map { UnsafePointer($0) } })
}
