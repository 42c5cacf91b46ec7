import Foundation
@testable import Gateway
import Hummingbird
import HummingbirdTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("The live view's server-sent events")
struct LiveUpdatesTests {
    @Test("a turn audited while a page listens reaches it as an update well within a second, and the page's fragment then shows it")
    func updateWithinASecond() async throws {
        let gateway = try Fixture.gateway()
        let app = Application(router: gateway.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let events = try EventStreamReader(port: port, path: "/events", header: "Authorization: Bearer \(Fixture.key("*"))")
            try #require(try await events.read(until: ": connected").contains("text/event-stream"))
            let start = ContinuousClock.now
            gateway.live.record([Fixture.row("late-dialogue", 1, tenant: "acme", risk: 0.4)])
            _ = try await events.read(until: "event: update")
            let elapsed = events.foundAt - start
            #expect(elapsed < .milliseconds(500), "update after \(elapsed)")
            try await client.execute(uri: "/?fragment=1", method: .get, headers: [.authorization: "Bearer \(Fixture.key("*"))"]) { r in
                #expect(String(buffer: r.body).contains("late-dialogue"))
            }
            gateway.live.close()  // as the gateway's service does on shutdown: the stream ends, the server can stop
            _ = try await events.read(until: "0\r\n\r\n")
        }
    }
}

/// Runs blocking socket work on a thread of its own, never on one of Swift's few cooperative
/// threads (which the server under test needs to answer).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}

/// Reads a server-sent event stream over a plain socket, as a browser's EventSource would.
final class EventStreamReader: @unchecked Sendable {
    private let fd: Int32
    private var received = ""
    /// When the last `read(until:)` found its marker, on the reading thread (see `Answer.receivedAt`).
    private(set) var foundAt = ContinuousClock.now

    init(port: Int, path: String, header: String) throws {
        fd = try LoopbackHTTP.connect(port: port, timeoutSeconds: 5)
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\(header)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    deinit { close(fd) }

    /// Everything received up to and including `marker` (throws after the 5 s socket timeout).
    func read(until marker: String) async throws -> String {
        try await offPool { try self.readBlocking(until: marker) }
    }

    private func readBlocking(until marker: String) throws -> String {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !received.contains(marker) {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            try #require(n > 0, "no '\(marker)' in the stream: \(received)")
            received += String(decoding: chunk[..<n], as: UTF8.self)
        }
        foundAt = ContinuousClock.now
        let range = received.range(of: marker)!
        defer { received = String(received[range.upperBound...]) }
        return String(received[..<range.upperBound])
    }
}

/// One HTTP/1.1 request on a connection of its own, made on a thread of its own so that many can be in flight at once without holding Swift's cooperative threads.
enum LoopbackHTTP {
    struct Answer: Sendable {
        var status: Int
        /// The head (status line and headers) as received.
        var head: String
        var body: String
        /// When the answer was complete, read on the request's own thread: timing a request this
        /// way leaves out the wait for a cooperative thread to resume the caller.
        var receivedAt = ContinuousClock.now

        func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
    }

    static func send(port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String = "") async throws -> Answer {
        try await offPool { try sendBlocking(port: port, method, path, headers: headers, body: body) }
    }

    /// A socket connected to 127.0.0.1:`port`, whose reads time out after `timeoutSeconds`.
    static func connect(port: Int, timeoutSeconds: Int = 10) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func sendBlocking(port: Int, _ method: String, _ path: String, headers: [String: String], body: String) throws -> Answer {
        let fd = try connect(port: port)
        defer { close(fd) }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(body.isEmpty ? "" : "Content-Length: \(body.utf8.count)\r\n")"
        for (k, v) in headers { request += "\(k): \(v)\r\n" }
        request += "\r\n" + body
        _ = request.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        // Read until the body is complete (by Content-Length or the last chunk), or the server closes.
        var received: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
        var answer = Answer(status: 0, head: "", body: "")
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += chunk[..<n]
            let text = String(decoding: received, as: UTF8.self)
            guard let split = text.range(of: "\r\n\r\n") else { continue }
            answer.head = String(text[..<split.lowerBound])
            answer.status = Int(answer.head.split(separator: " ").dropFirst().first ?? "") ?? 0
            answer.body = String(text[split.upperBound...])
            if let length = answer.header("Content-Length").flatMap(Int.init), answer.body.utf8.count >= length { break }
            if answer.header("Transfer-Encoding") == "chunked", answer.body.hasSuffix("0\r\n\r\n") { break }
        }
        answer.receivedAt = ContinuousClock.now
        return answer
    }
}
