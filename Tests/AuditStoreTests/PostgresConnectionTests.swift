import Foundation
import Synchronization
import Testing
@testable import AuditStore

@Suite("PostgreSQL connection settings")
struct PostgresConnectionTests {
    @Test("timeouts the URL leaves out are added; those it gives are kept", arguments: [
        ("postgresql://u@h/db", "postgresql://u@h/db?connect_timeout=10&keepalives_idle=30&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=60000"),
        ("postgresql://u@h/db?sslmode=require&connect_timeout=2",
         "postgresql://u@h/db?sslmode=require&connect_timeout=2&keepalives_idle=30&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=60000"),
        ("host=h dbname=db keepalives_idle = 5",
         "host=h dbname=db keepalives_idle = 5 connect_timeout=10 keepalives_interval=10 keepalives_count=3 tcp_user_timeout=60000"),
    ])
    func defaultSettings(url: String, expected: String) {
        #expect(PostgresConnection.withDefaultSettings(url) == expected)
    }

    /// A server that takes the TCP connection but never answers (hung, or behind a partition that
    /// lets the handshake through) used to block the connecting thread for good.
    @Test("a server that never answers fails the connection instead of hanging")
    func silentServer() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let outcome = Mutex<CheckedContinuation<Result<Void, any Error>?, Never>?>(nil)
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Void, any Error>?, Never>) in
            outcome.withLock { $0 = c }
            let finish: @Sendable (Result<Void, any Error>?) -> Void = { r in outcome.withLock { $0.take() }?.resume(returning: r) }
            Thread { finish(Result { _ = try PostgresConnection(url: "postgresql://u@127.0.0.1:\(listener.port)/x") }) }.start()
            // connect_timeout is 10 s: a minute means it hung (nil).
            Thread { Thread.sleep(forTimeInterval: 60); finish(nil) }.start()
        }
        let r = try #require(result, "the connection attempt was still blocked after 60 s")
        #expect(throws: PostgresError.self) { try r.get() }
        if case .failure(let e as PostgresError) = r {
            #expect(e.isRetriable)
            #expect("\(e)".contains("timeout"), "\(e)")
        }
    }
}

/// A TCP socket on loopback that listens (the kernel completes handshakes) but never accepts.
struct SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && listen(fd, 4) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard fd >= 0, ok else { throw TestSetupError("cannot listen on 127.0.0.1: errno \(errno)") }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
