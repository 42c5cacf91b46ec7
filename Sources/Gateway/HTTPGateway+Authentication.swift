import Foundation
import HTTPTypes
import Hummingbird

// Who a request comes from: the API takes a key in a header only; the pages take that or the
// session cookie `POST /login` sets.

extension HTTPGateway {
    /// The tenant of the request's key, from `Authorization: Bearer KEY` or `X-API-Key: KEY` (never
    /// from a cookie: a cross-site page cannot make a browser send these); nil without a key.
    /// - Throws: ``GatewayError`` `throttled` when the client's address failed too often, and
    ///   `unauthorized` for a key that is not configured (counted as a failure).
    func apiTenant(of request: Request, context: GatewayRequestContext) throws(GatewayError) -> String? {
        var key: String?
        if let auth = request.headers[.authorization], auth.lowercased().hasPrefix("bearer ") {
            key = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if let k = request.headers.first(where: { $0.name.canonicalName == "x-api-key" }) {
            key = k.value
        }
        guard let key, !key.isEmpty else { return nil }
        return try check(key, request: request, context: context)
    }

    /// The tenant of `key`, throttled per client address.
    private func check(_ key: String, request: Request, context: GatewayRequestContext) throws(GatewayError) -> String {
        let address = clientAddress(request, context: context)
        if let wait = throttle.retryAfter(address) {
            var error = GatewayError(.throttled, "too many failed authentications from this address; retry after \(wait) s", isRetriable: true)
            error.retryAfterSeconds = wait
            throw error
        }
        guard let tenant = keys.tenant(for: key) else {
            throttle.fail(address)
            throw GatewayError(.unauthorized, "a valid API key is required (Authorization: Bearer KEY or X-API-Key)", field: "Authorization")
        }
        return tenant
    }

    /// The tenant of a page request: its key (``apiTenant(of:context:)``) or its sign-in session.
    func pageTenant(of request: Request, context: GatewayRequestContext) throws(GatewayError) -> String? {
        try apiTenant(of: request, context: context) ?? sessionID(of: request).flatMap { sessions.tenant(of: $0) }
    }

    /// The client's address: the peer's, or behind a TLS proxy the last `X-Forwarded-For` entry
    /// (the one the proxy added). "unknown" when there is none.
    func clientAddress(_ request: Request, context: GatewayRequestContext) -> String {
        if configuration.behindTLSProxy, let forwarded = request.headers[values: HTTPField.Name("X-Forwarded-For")!].last,
           let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty {
            return last
        }
        return context.remoteAddress ?? "unknown"
    }

    /// The session cookie's name: `__Host-` (with `Secure`) behind a TLS proxy; plain HTTP cannot
    /// carry either, so there it is a plain name.
    var sessionCookie: String { configuration.behindTLSProxy ? "__Host-plutchik_session" : "plutchik_session" }

    /// The session id the request's cookie holds.
    func sessionID(of request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces)
                if kv.hasPrefix("\(sessionCookie)="), case let id = String(kv.dropFirst(sessionCookie.count + 1)), !id.isEmpty { return id }
            }
        }
        return nil
    }

    func addSessionRoutes(to router: Router<GatewayRequestContext>) {
        // GET only shows the form: a key in a URL would reach history, logs and Referer headers.
        router.get("login") { request, _ in
            let next = Self.sameOriginPath(request.uri.queryParameters.get("next").map { String($0) })
            return self.html(PageRender.layout(title: "Sign in", tenant: nil, live: false, body: PageRender.loginForm(next: next, failed: false)))
        }
        router.post("login") { request, context in try await self.login(request, context: context) }
        router.post("logout") { request, _ in
            if let refused = self.refuseCrossSite(request) { return refused }
            if let id = self.sessionID(of: request) { self.sessions.remove(id) }
            return Response(status: .seeOther, headers: [.location: "/login", .setCookie: self.cookie(value: "", maxAge: 0)])
        }
    }

    /// `POST /login` with `key` and `next` in a form body: a good key starts a session (its id in
    /// an HTTP-only, same-site cookie) and sends the browser on to `next`, a path on this server.
    private func login(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        if let refused = refuseCrossSite(request) { return refused }
        var request = request
        let fields = Self.form(try await request.collectBody(upTo: 8 * 1024))
        let next = Self.sameOriginPath(fields["next"])
        let tenant: String?
        do { tenant = try fields["key"].map { key throws(GatewayError) in try check(key, request: request, context: context) } } catch {
            if error.code == .throttled { throw error }
            tenant = nil
        }
        if let tenant {
            let id = sessions.create(tenant: tenant)
            let seconds = Int(configuration.sessionLifetime.components.seconds)
            return Response(status: .seeOther, headers: [.location: next, .setCookie: cookie(value: id, maxAge: seconds)])
        }
        return html(PageRender.layout(title: "Sign in", tenant: nil, live: false, body: PageRender.loginForm(next: next, failed: true)),
                    status: .unauthorized)
    }

    private func cookie(value: String, maxAge: Int) -> String {
        "\(sessionCookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (configuration.behindTLSProxy ? "; Secure" : "")
    }

    /// `next` if it is a path on this server, else `/`. Refused: anything but a path (`//host`, a
    /// scheme), a backslash or a control character, raw or percent-encoded (browsers read
    /// `/\evil`, `/%5Cevil` and `/%09/evil` as `//evil`).
    static func sameOriginPath(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"),
              let decoded = next.removingPercentEncoding, !decoded.hasPrefix("//") else { return "/" }
        // Raw, not even a space; decoded, a space is a character of a path (`%20`), a control one is not.
        for (text, lowest) in [(next, 0x21), (decoded, 0x20)] as [(String, UInt32)] {
            if text.unicodeScalars.contains(where: { $0 == "\\" || $0.value < lowest || $0.value == 0x7f }) { return "/" }
        }
        return next
    }

    /// A 403 for a page POST a browser sent from another site (`Sec-Fetch-Site`, or else `Origin`,
    /// not this server); nil when the request may go on. A client that sends neither (not a browser) may.
    func refuseCrossSite(_ request: Request) -> Response? {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            if site == "same-origin" { return nil }
        } else if let origin = request.headers[HTTPField.Name("Origin")!] {
            let host = request.head.authority ?? ""
            if let r = origin.range(of: "://"), origin[r.upperBound...] == host, !host.isEmpty { return nil }
        } else {
            return nil
        }
        return errorResponse(GatewayError(.forbidden, "cross-site requests are refused"))
    }
}
