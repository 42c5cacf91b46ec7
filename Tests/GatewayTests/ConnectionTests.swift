import Foundation
@testable import Gateway
import Hummingbird
import HummingbirdTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// #40 item 5. Findings: no idle timeout (slow-loris held descriptors) and no connection cap;
/// `/events` had no client cap and no heartbeat, so a closed client was noticed only at the next
/// write (never under `serve`): 300 abandoned streams still counted as 300 live clients 30 s later.
@Suite("Connections")
struct ConnectionTests {
    static func server(_ gateway: HTTPGateway<CountingAnalyzer>) -> Application<RouterResponder<GatewayRequestContext>> {
        Application(router: gateway.router(), server: gateway.serverBuilder, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Whether the server closed `fd` (a read returns 0 or fails) within the socket's timeout.
    static func closedByServer(_ fd: Int32) async throws -> Bool {
        try await offPool { closedBlocking(fd) }
    }

    /// Whether the server closed `fd` within `limit` of `start`, timed on the reading thread (not
    /// after a cooperative thread resumes the caller, which other suites' work can delay for seconds).
    static func closedByServer(_ fd: Int32, since start: ContinuousClock.Instant, within limit: Duration) async throws -> Bool {
        try await offPool { closedBlocking(fd) && ContinuousClock.now - start < limit }
    }

    static func closedBlocking(_ fd: Int32) -> Bool {
        var byte = [UInt8](repeating: 0, count: 512)
        while true {
            let n = byte.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
            if n < 0 { return false }
        }
    }

    static func waitFor(_ condition: () -> Bool, within: Duration) async throws -> Bool {
        let end = ContinuousClock.now + within
        while ContinuousClock.now < end {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test("past the connection cap a new connection is closed on arrival; once one goes, a new request is answered; the count returns to 0")
    func connectionCap() async throws {
        let gateway = try Fixture.gateway { $0.maxConnections = 3 }
        try await Self.server(gateway).test(.live) { client in
            let port = try #require(client.port)
            // The test client's own keep-alive connection counts too.
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
            let base = gateway.connections.count
            let idle = try (base..<3).map { _ in try LoopbackHTTP.connect(port: port, timeoutSeconds: 2) }
            #expect(try await Self.waitFor({ gateway.connections.count == 3 }, within: .seconds(2)))
            let extra = try LoopbackHTTP.connect(port: port, timeoutSeconds: 2)
            #expect(try await Self.closedByServer(extra), "the fourth connection is closed")
            close(extra)
            close(idle[0])
            #expect(try await Self.waitFor({ gateway.connections.count == 2 }, within: .seconds(1)))
            #expect(!idle.isEmpty)
            let start = ContinuousClock.now
            let answer = try await LoopbackHTTP.send(port: port, "GET", "/healthz")
            #expect(answer.status == 200 && answer.receivedAt - start < .seconds(1))
            idle.dropFirst().forEach { close($0) }
            #expect(try await Self.waitFor({ gateway.connections.count == base }, within: .seconds(2)), "\(gateway.connections.count) open")
        }
    }

    @Test("a connection that stays idle, or sends its headers a byte at a time, is closed after the idle timeout")
    func idleAndSlowHeaders() async throws {
        let gateway = try Fixture.gateway { $0.idleTimeout = .milliseconds(300) }
        try await Self.server(gateway).test(.live) { client in
            let port = try #require(client.port)
            let idle = try LoopbackHTTP.connect(port: port, timeoutSeconds: 2)
            defer { close(idle) }
            let start = ContinuousClock.now
            #expect(try await Self.closedByServer(idle, since: start, within: .seconds(1)))
            let slow = try LoopbackHTTP.connect(port: port, timeoutSeconds: 2)
            defer { close(slow) }
            var closed = false
            for i in 0..<20 where !closed {  // 2 s of headers, one line every 100 ms
                let line = i == 0 ? "GET /healthz HTTP/1.1\r\nHost: x\r\n" : "X-Slow-\(i): y\r\n"
                closed = line.withCString { Glibc.send(slow, $0, strlen($0), Int32(MSG_NOSIGNAL)) } < 0
                try await Task.sleep(for: .milliseconds(100))
            }
            let cut = try await Self.closedByServer(slow)
            #expect(closed || cut, "a slow sender of headers is cut off")
        }
    }

    @Test("/events is capped per tenant and in all (429); closed streams are let go within a heartbeat, with nothing recorded")
    func eventStreams() async throws {
        let gateway = try Fixture.gateway {
            $0.maxEventClientsPerTenant = 2
            $0.maxEventClients = 3
            $0.eventsHeartbeat = .milliseconds(100)
        }
        try await Self.server(gateway).test(.live) { client in
            let port = try #require(client.port)
            func open(_ tenant: String) throws -> EventStreamReader {
                try EventStreamReader(port: port, path: "/events", header: "Authorization: Bearer \(Fixture.key(tenant))")
            }
            var readers = [try open("acme"), try open("acme")]
            for r in readers { _ = try await r.read(until: ": connected") }
            _ = try await readers[0].read(until: ": heartbeat")
            let third = try await LoopbackHTTP.send(port: port, "GET", "/events", headers: ["Authorization": "Bearer \(Fixture.key("acme"))"])
            #expect(third.status == 429 && third.header("Retry-After") != nil, "per tenant")
            readers.append(try open("globex"))
            _ = try await readers[2].read(until: ": connected")
            let fourth = try await LoopbackHTTP.send(port: port, "GET", "/events", headers: ["Authorization": "Bearer \(Fixture.key("*"))"])
            #expect(fourth.status == 429, "in all")
            #expect(gateway.eventClients.total == 3 && gateway.live.subscriberCount == 3)
            readers.removeAll()  // the clients go away (their sockets close); nothing is recorded meanwhile
            #expect(try await Self.waitFor({ gateway.eventClients.total == 0 && gateway.live.subscriberCount == 0 }, within: .seconds(1)),
                    "\(gateway.eventClients.total) streams, \(gateway.live.subscriberCount) subscribers left")
            let again = try open("acme")
            #expect(try await again.read(until: ": connected").contains("200"))
        }
    }

    /// Finding: the global 429 slots were taken before the body was read, so slow uploads on one
    /// key refused every tenant.
    @Test("a slow upload holds no in-flight slot: with one slot, another tenant is served while it uploads")
    func slotAfterBody() async throws {
        let gateway = try Fixture.gateway { $0.maxInFlight = 1 }
        try await Self.server(gateway).test(.live) { client in
            let port = try #require(client.port)
            let slow = try LoopbackHTTP.connect(port: port, timeoutSeconds: 2)
            defer { close(slow) }
            let head = "POST /v1/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Fixture.key("acme"))\r\nContent-Length: 1000\r\n\r\n{\"dial"
            _ = head.withCString { Glibc.send(slow, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            try await Task.sleep(for: .milliseconds(200))
            let other = try await LoopbackHTTP.send(port: port, "POST", "/v1/analyze", headers: ["Authorization": "Bearer \(Fixture.key("globex"))"],
                                                    body: Fixture.turn("d", 1, "hello"))
            #expect(other.status == 200, "\(other.status) \(other.body)")
        }
    }

    /// Finding: 413 was never tried with a chunked body (no Content-Length to check up front).
    @Test("a chunked body over the limit gets 413 while it streams, and the server goes on")
    func chunkedBodyTooLarge() async throws {
        let gateway = try Fixture.gateway { $0.maxBodyBytes = 1_024 }
        try await Self.server(gateway).test(.live) { client in
            let port = try #require(client.port)
            let chunk = String(repeating: "a", count: 512)
            let body = (0..<4).map { _ in "200\r\n\(chunk)\r\n" }.joined() + "0\r\n\r\n"
            let answer = try await offPool { () throws -> String in
                let fd = try LoopbackHTTP.connect(port: port, timeoutSeconds: 5)
                defer { close(fd) }
                let request = "POST /v1/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Fixture.key("acme"))\r\nTransfer-Encoding: chunked\r\n\r\n" + body
                _ = request.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
            }
            #expect(answer.hasPrefix("HTTP/1.1 413") && answer.contains("body_too_large"), "\(answer.prefix(200))")
            #expect(try await LoopbackHTTP.send(port: port, "GET", "/healthz").status == 200)
        }
    }

    @Test("a request whose body does not arrive in full within the request-read timeout has its connection closed")
    func slowBody() async throws {
        let gateway = try Fixture.gateway { $0.requestReadTimeout = .milliseconds(300) }
        try await Self.server(gateway).test(.live) { client in
            let port = try #require(client.port)
            let slow = try LoopbackHTTP.connect(port: port, timeoutSeconds: 3)
            defer { close(slow) }
            let head = "POST /v1/analyze HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Fixture.key("acme"))\r\nContent-Length: 1000\r\n\r\n{\"dial"
            _ = head.withCString { Glibc.send(slow, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            let start = ContinuousClock.now
            #expect(try await Self.closedByServer(slow, since: start, within: .seconds(2)))
            let normal = try await LoopbackHTTP.send(port: port, "POST", "/v1/analyze", headers: ["Authorization": "Bearer \(Fixture.key("acme"))"],
                                                     body: Fixture.turn("d", 1, "hello"))
            #expect(normal.status == 200)
        }
    }
}
