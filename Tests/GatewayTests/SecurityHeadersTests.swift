import Foundation
@testable import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// #40 item 7. Findings: no page carried a Content-Security-Policy, `X-Content-Type-Options` or
/// `Referrer-Policy`; an analyzer returning fewer results than turns trapped the process
/// (`events.last!`, slicing); the model's error text was returned to clients.
@Suite("Security headers and model faults")
struct SecurityHeadersTests {
    static let csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    @Test("every response carries the CSP, nosniff and no-referrer, errors and unknown paths included; pages have no inline style or script")
    func headersEverywhere() async throws {
        let gateway = try Fixture.gateway()
        gateway.live.record([Fixture.row("d-1", 1, tenant: "acme", risk: 0.7, alert: true,
                                         eventJSON: "{\"explanation\":{\"words\":[{\"word\":\"turn\",\"contribution\":0.5}],\"escalation_turns\":[]}}")])
        let app = Application(router: gateway.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let viewer: HTTPFields = [.authorization: "Bearer \(Fixture.key("*"))"]
        try await app.test(.live) { client in
            let requests: [(String, HTTPRequest.Method, HTTPFields)] = [
                ("/", .get, viewer), ("/", .get, [:]), ("/dialogues/acme/d-1?explain=1", .get, viewer), ("/dialogues/acme/none", .get, viewer),
                ("/try?text=so+furious", .get, viewer), ("/login", .get, [:]), ("/static/app.css", .get, [:]), ("/static/app.js", .get, [:]),
                ("/openapi.json", .get, [:]), ("/events", .get, [:]), ("/v1/analyze", .post, [:]), ("/no/such/path", .get, [:]),
                ("/healthz", .get, [:]),
            ]
            for (path, method, headers) in requests {
                try await client.execute(uri: path, method: method, headers: headers) { r in
                    #expect(r.headers[.contentSecurityPolicy] == Self.csp, "\(path)")
                    #expect(r.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(path)")
                    #expect(r.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(path)")
                    let body = String(buffer: r.body)
                    if r.headers[.contentType]?.hasPrefix("text/html") == true {
                        #expect(!body.contains("style="), "\(path): inline style")
                        #expect(body.components(separatedBy: "<script").dropFirst().allSatisfy { $0.hasPrefix(" src=\"/static/") }, "\(path): inline script")
                    }
                }
            }
        }
        // The classes that replaced the inline styles exist in the style sheet.
        #expect(PageAssets.style.contains(".risk .bar.w14 { width: 70%; }") && PageAssets.style.contains("mark.for.m4"))
        #expect(PageRender.riskCell(0.7).contains("class=\"bar w14\""))
    }

    @Test("an analyzer that returns fewer results than turns, or fails, is a 503 with a generic message; the cause goes to the log",
          arguments: [CountingAnalyzer.Fault.shortResults, .throwing])
    func modelFaults(fault: CountingAnalyzer.Fault) async throws {
        let (logger, log) = CapturingLogHandler.logger()
        let gateway = try Fixture.gateway(CountingAnalyzer(fault: fault), logger: logger)
        gateway.live.record([Fixture.row("d-1", 1, tenant: "acme", risk: 0.2), Fixture.row("d-1", 2, tenant: "acme", risk: 0.2)])
        let app = Application(router: gateway.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let acme: HTTPFields = [.authorization: "Bearer \(Fixture.key("acme"))"]
        try await app.test(.live) { client in
            for _ in 0..<2 {  // the server goes on after the first
                let dialogue = "{\"turns\":[\(Fixture.turn("d", 1, "hello")),\(Fixture.turn("d", 2, "hi"))]}"
                try await client.execute(uri: "/v1/analyze", method: .post, headers: acme, body: ByteBuffer(string: dialogue)) { r in
                    let body = String(buffer: r.body)
                    #expect(r.status == .serviceUnavailable && body.contains("\"code\":\"unavailable\"") && body.contains("could not analyze"))
                    #expect(!body.contains("secret") && !body.contains("results for"))
                }
            }
            try await client.execute(uri: "/try?text=hello&context=hi", method: .get, headers: acme) { r in
                let body = String(buffer: r.body)
                #expect(r.status == .ok && body.contains("could not analyze this now") && !body.contains("secret"))
            }
            try await client.execute(uri: "/dialogues/acme/d-1?explain=1", method: .get, headers: acme) { r in
                #expect(r.status == .ok && String(buffer: r.body).contains("No word attributions"))
            }
        }
        let cause = fault == .throwing ? "/secret/path" : "returned 1 results for 2 turns"
        #expect(log.lines.withLock { $0 }.contains { $0.contains(cause) }, "the log has the cause")
    }
}
