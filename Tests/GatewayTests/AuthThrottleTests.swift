import Foundation
@testable import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// #40 item 6: failed authentications are throttled per client address (before, any number of
/// keys could be tried as fast as the server answered).
@Suite("Failed authentications are throttled per client address")
struct AuthThrottleTests {
    static func live(behindProxy: Bool) throws -> Application<RouterResponder<GatewayRequestContext>> {
        let gateway = try Fixture.gateway { $0.authFailuresPerMinute = 3; $0.behindTLSProxy = behindProxy }
        return Application(router: gateway.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func from(_ address: String, key: String) -> HTTPFields {
        [.authorization: "Bearer \(key)", HTTPField.Name("X-Forwarded-For")!: "198.51.100.7, \(address)"]
    }

    @Test("past the limit an address gets 429 with Retry-After for any key and for /login; another address does not")
    func throttled() async throws {
        try await Self.live(behindProxy: true).test(.live) { client in
            let wrong = "wrong-key-0123456789abcdefghij", right = Fixture.key("acme")
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/analyze", method: .post, headers: Self.from("203.0.113.1", key: wrong),
                                         body: ByteBuffer(string: Fixture.turn("d", 1, "hi"))) { r in #expect(r.status == .unauthorized) }
            }
            for path in ["/v1/analyze", "/", "/events"] {
                try await client.execute(uri: path, method: path == "/v1/analyze" ? .post : .get, headers: Self.from("203.0.113.1", key: right),
                                         body: ByteBuffer(string: Fixture.turn("d", 1, "hi"))) { r in
                    #expect(r.status == .tooManyRequests && Int(r.headers[.retryAfter] ?? "") ?? 0 >= 1, "\(path)")
                    #expect(String(buffer: r.body).contains("\"code\":\"throttled\""))
                }
            }
            var login = Self.from("203.0.113.1", key: right)
            login[.contentType] = "application/x-www-form-urlencoded"
            login[.authorization] = nil
            try await client.execute(uri: "/login", method: .post, headers: login, body: ByteBuffer(string: "key=\(right)")) { r in
                #expect(r.status == .tooManyRequests && r.headers[.setCookie] == nil)
            }
            try await client.execute(uri: "/v1/analyze", method: .post, headers: Self.from("203.0.113.2", key: right),
                                     body: ByteBuffer(string: Fixture.turn("d", 1, "hi"))) { r in #expect(r.status == .ok) }
        }
    }

    @Test("failed sign-ins count too; without --http-behind-tls-proxy X-Forwarded-For is ignored (the peer address counts)")
    func loginFailuresAndSpoofedHeader() async throws {
        try await Self.live(behindProxy: false).test(.live) { client in
            for i in 0..<3 {
                var h = Self.from("203.0.113.\(10 + i)", key: "")
                h[.authorization] = nil
                h[.contentType] = "application/x-www-form-urlencoded"
                try await client.execute(uri: "/login", method: .post, headers: h, body: ByteBuffer(string: "key=wrong-\(i)")) { r in
                    #expect(r.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/v1/analyze", method: .post, headers: Self.from("203.0.113.99", key: Fixture.key("acme")),
                                     body: ByteBuffer(string: Fixture.turn("d", 1, "hi"))) { r in
                #expect(r.status == .tooManyRequests, "a forged X-Forwarded-For does not escape the throttle")
            }
        }
    }

    @Test("the address may try again once its minute is over")
    func windowEnds() {
        let throttle = AuthThrottle(limit: 2, window: .seconds(60))
        let t0 = ContinuousClock.now
        throttle.fail("a", now: t0)
        #expect(throttle.retryAfter("a", now: t0) == nil)
        throttle.fail("a", now: t0 + .seconds(1))
        #expect(throttle.retryAfter("a", now: t0 + .seconds(2)) == 59 && throttle.retryAfter("b", now: t0) == nil)
        #expect(throttle.retryAfter("a", now: t0 + .seconds(61)) == nil)
    }
}
