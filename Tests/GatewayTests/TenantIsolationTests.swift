import Foundation
@testable import Gateway
import Hummingbird
import HummingbirdTesting
import Testing

/// #40 item 1, the live view's part. Finding: the live view keyed dialogues by id alone, so when
/// globex audited a turn in `chat-1001` after acme, globex's text showed on acme's page, globex got
/// 404 for its own dialogue, and `?explain=1` re-analysed globex's text under acme's policy.
@Suite("Two tenants with the same dialogue id")
struct TenantIsolationTests {
    static func headers(_ tenant: String) -> HTTPFields { [.authorization: "Bearer \(Fixture.key(tenant))"] }

    @Test("each tenant sees its own chat-1001 only, at /dialogues/{tenant}/{id}; explain runs under the dialogue's own tenant")
    func sameDialogueID() async throws {
        let analyzer = CountingAnalyzer()
        let gateway = try Fixture.gateway(analyzer)
        gateway.live.record([Fixture.row("chat-1001", 1, tenant: "acme", risk: 0.2, text: "acme private words")])
        gateway.live.record([Fixture.row("chat-1001", 1, tenant: "globex", risk: 0.3, text: "globex private words")])
        let app = Application(router: gateway.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for (me, other) in [("acme", "globex"), ("globex", "acme")] {
                try await client.execute(uri: "/dialogues/\(me)/chat-1001", method: .get, headers: Self.headers(me)) { r in
                    let html = String(buffer: r.body)
                    #expect(r.status == .ok && html.contains("\(me) private words") && !html.contains("\(other) private words"))
                }
                try await client.execute(uri: "/dialogues/\(other)/chat-1001", method: .get, headers: Self.headers(me)) { r in
                    #expect(r.status == .notFound && !String(buffer: r.body).contains("private words"))
                }
                try await client.execute(uri: "/", method: .get, headers: Self.headers(me)) { r in
                    let html = String(buffer: r.body)
                    #expect(html.contains("href=\"/dialogues/\(me)/chat-1001\"") && !html.contains("/dialogues/\(other)/"))
                }
                // A link of the older form still leads to the key's own dialogue.
                try await client.execute(uri: "/dialogues/chat-1001?turn=1", method: .get, headers: Self.headers(me)) { r in
                    #expect(r.status == .seeOther && r.headers[.location] == "/dialogues/\(me)/chat-1001?turn=1")
                }
            }
            try await client.execute(uri: "/", method: .get, headers: Self.headers("*")) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("/dialogues/acme/chat-1001") && html.contains("/dialogues/globex/chat-1001"))
            }
            try await client.execute(uri: "/dialogues/chat-1001", method: .get, headers: Self.headers("*")) { r in
                #expect(r.status == .notFound, "two dialogues have that id: the old link is ambiguous for the all-tenant key")
            }
            try await client.execute(uri: "/dialogues/globex/chat-1001?turn=1&explain=1", method: .get, headers: Self.headers("*")) { r in
                #expect(r.status == .ok && String(buffer: r.body).contains("<ol class=\"words\"><li>furious"))
            }
        }
        #expect(analyzer.tenants.withLock { $0 } == ["globex"], "globex's turn is explained under globex's policy")
    }

    @Test("ids and tenants with spaces, ':', '/', '%' and other letters are percent-decoded from the path", arguments: [
        ("acme", "chat 1/ü:x%"), ("big corp", "dialogue/two"), ("acme", "plain"),
    ])
    func percentEncodedIDs(tenant: String, id: String) async throws {
        let gateway = try Fixture.gateway()
        gateway.live.record([Fixture.row(id, 1, tenant: tenant, risk: 0.2, text: "found me")])
        let app = Application(router: gateway.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let link = HTTPGateway<CountingAnalyzer>.path(of: try #require(gateway.live.list(tenant: "*").first))
            try await client.execute(uri: "/", method: .get, headers: Self.headers("*")) { r in
                #expect(String(buffer: r.body).contains("href=\"\(link)\""))
            }
            try await client.execute(uri: link, method: .get, headers: Self.headers("*")) { r in
                #expect(r.status == .ok && String(buffer: r.body).contains("found me"), "\(link)")
            }
        }
    }
}
