import Foundation
@testable import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// #40 item 4. Findings: `GET /login?key=` signed in (keys in URLs, history, proxy logs); the
/// cookie held the raw key (no `Secure`, no expiry, no logout) and the API took it too;
/// `next=/%5Cevil.example` and `next=/%09/evil.example` passed the redirect check.
@Suite("Web view sessions")
struct SessionTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    static func live(_ configure: (inout GatewayConfiguration) -> Void = { _ in }) throws -> Application<RouterResponder<GatewayRequestContext>> {
        Application(router: try Fixture.gateway(configure: configure).router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// The `name=value` of a `Set-Cookie` header.
    static func cookie(_ setCookie: String?) -> String { String((setCookie ?? "").split(separator: ";").first ?? "") }

    @Test("GET /login with a key only shows the form: no session, no cookie")
    func getLoginDoesNotSignIn() async throws {
        try await Self.live().test(.live) { client in
            try await client.execute(uri: "/login?key=\(Fixture.key("acme"))&next=/", method: .get) { r in
                #expect(r.status == .ok && r.headers[.setCookie] == nil && String(buffer: r.body).contains("method=\"post\" action=\"/login\""))
            }
        }
    }

    @Test("POST /login starts an opaque, expiring, HTTP-only, same-site session the pages take and the API does not; /logout ends it")
    func sessionLifecycle() async throws {
        try await Self.live().test(.live) { client in
            var cookie = ""
            try await client.execute(uri: "/login", method: .post, headers: Self.form,
                                     body: ByteBuffer(string: "key=\(Fixture.key("acme"))&next=%2Ftry")) { r in
                let set = try #require(r.headers[.setCookie])
                #expect(r.status == .seeOther && r.headers[.location] == "/try")
                #expect(set.hasSuffix("; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict"), "\(set)")
                cookie = Self.cookie(set)
                let id = String(cookie.dropFirst("plutchik_session=".count))
                #expect(cookie.hasPrefix("plutchik_session=") && id.count == 64 && id.allSatisfy(\.isHexDigit), "256 random bits")
                #expect(!set.contains(Fixture.key("acme")))
            }
            try await client.execute(uri: "/login", method: .post, headers: Self.form, body: ByteBuffer(string: "key=\(Fixture.key("acme"))")) { r in
                #expect(Self.cookie(r.headers[.setCookie]) != cookie, "each sign-in gets a new id")
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie]) { r in
                #expect(r.status == .ok && String(buffer: r.body).contains("Signed in: tenant acme"))
            }
            try await client.execute(uri: "/v1/analyze", method: .post, headers: [.cookie: cookie],
                                     body: ByteBuffer(string: Fixture.turn("d", 1, "hi"))) { r in
                #expect(r.status == .unauthorized, "the API takes a key in a header only")
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: "plutchik_key=\(Fixture.key("acme"))"]) { r in
                #expect(r.status == .seeOther, "the raw key in a cookie is no longer a sign-in")
            }
            try await client.execute(uri: "/logout", method: .post, headers: [.cookie: cookie]) { r in
                #expect(r.status == .seeOther && r.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie]) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/login?next=%2F")
            }
            try await client.execute(uri: "/login", method: .post, headers: Self.form, body: ByteBuffer(string: "key=nope-nope-nope-nope-nope")) { r in
                #expect(r.status == .unauthorized && r.headers[.setCookie] == nil && String(buffer: r.body).contains("That key is not valid"))
            }
        }
    }

    @Test("behind a TLS proxy the cookie is __Host- prefixed and Secure")
    func secureCookie() async throws {
        try await Self.live { $0.behindTLSProxy = true }.test(.live) { client in
            var cookie = ""
            try await client.execute(uri: "/login", method: .post, headers: Self.form, body: ByteBuffer(string: "key=\(Fixture.key("*"))")) { r in
                let set = try #require(r.headers[.setCookie])
                #expect(set.hasPrefix("__Host-plutchik_session=") && set.hasSuffix("; Secure") && set.contains("; Path=/;") && !set.contains("Domain"))
                cookie = Self.cookie(set)
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie]) { r in #expect(r.status == .ok) }
        }
    }

    @Test("a session expires after its lifetime; a full store drops the session closest to expiry")
    func expiry() {
        let store = SessionStore(lifetime: .seconds(60), maxSessions: 2)
        let t0 = ContinuousClock.now
        let a = store.create(tenant: "acme", now: t0)
        #expect(store.tenant(of: a, now: t0 + .seconds(59)) == "acme" && store.tenant(of: a, now: t0 + .seconds(61)) == nil)
        let b = store.create(tenant: "b", now: t0), c = store.create(tenant: "c", now: t0 + .seconds(1)), d = store.create(tenant: "d", now: t0 + .seconds(2))
        #expect(store.count == 2 && store.tenant(of: b, now: t0) == nil && store.tenant(of: c, now: t0) == "c" && store.tenant(of: d, now: t0) == "d")
    }

    @Test("next accepts only a path on this server", arguments: [
        "/\\evil.example", "/%5Cevil.example", "/%5cevil.example", "/%09/evil.example", "/\t/evil.example", "//evil.example",
        "/%2F/evil.example", "https://evil.example/", "javascript:alert(1)", "evil.example", " /x", "/%0d%0aSet-Cookie:x", "",
    ])
    func hostileNext(next: String) async throws {
        #expect(HTTPGateway<CountingAnalyzer>.sameOriginPath(next) == "/")
        try await Self.live().test(.live) { client in
            let body = "key=\(Fixture.key("acme"))&next=\(HTTPGateway<CountingAnalyzer>.percentEncoded(next))"
            try await client.execute(uri: "/login", method: .post, headers: Self.form, body: ByteBuffer(string: body)) { r in
                #expect(r.status == .seeOther && r.headers[.location] == "/")
            }
        }
    }

    @Test("a path of this server is kept as the next page")
    func goodNext() {
        for path in ["/", "/try?text=a%20b", "/dialogues/acme/chat%201?turn=2&explain=1"] {
            #expect(HTTPGateway<CountingAnalyzer>.sameOriginPath(path) == path)
        }
    }

    @Test("page POSTs from another site are refused: login, logout and /try", arguments: [
        ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site"), ("Origin", "http://evil.example"), ("Origin", "null"),
    ])
    func crossSite(header: String, value: String) async throws {
        try await Self.live().test(.live) { client in
            for path in ["/login", "/logout", "/try"] {
                var headers = Self.form
                headers[HTTPField.Name(header)!] = value
                headers[.authorization] = "Bearer \(Fixture.key("acme"))"
                try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: "key=\(Fixture.key("acme"))&text=hi")) { r in
                    #expect(r.status == .forbidden && r.headers[.setCookie] == nil, "\(path)")
                }
            }
            var same = Self.form
            same[HTTPField.Name("Sec-Fetch-Site")!] = "same-origin"
            try await client.execute(uri: "/login", method: .post, headers: same, body: ByteBuffer(string: "key=\(Fixture.key("acme"))")) { r in
                #expect(r.status == .seeOther)
            }
        }
    }
}
