import AuditStore
import Foundation
@testable import Gateway
import Hummingbird
import HummingbirdTesting
import Pipeline
import Testing

/// #40 item 2: one effective privacy rule. Finding: with only the global `--hash-texts`, the live
/// view showed (and re-analysed) the plain text, since it read the per-tenant flag only.
@Suite("One privacy rule for the audit, the live view and explanations")
struct PrivacyTests {
    static let policies = TenantPolicies(tenants: ["acme": TenantPolicy(hashTexts: true), "globex": TenantPolicy(hashTexts: false)])

    @Test("the global flag or the tenant's own hashes; a tenant cannot opt out of the global flag")
    func rule() {
        #expect(Self.policies.hashesTexts(of: "acme", always: false) && Self.policies.hashesTexts(of: "acme", always: true))
        #expect(!Self.policies.hashesTexts(of: "globex", always: false) && Self.policies.hashesTexts(of: "globex", always: true))
        #expect(!Self.policies.hashesTexts(of: nil, always: false) && Self.policies.hashesTexts(of: nil, always: true))
        let defaults = TenantPolicies(defaults: TenantPolicy(hashTexts: true), tenants: ["globex": TenantPolicy(hashTexts: false)])
        #expect(defaults.hashesTexts(of: "other", always: false) && !defaults.hashesTexts(of: "globex", always: false))
    }

    @Test("hashed texts: pages, fragments and explanations show no text and no explanation words, and nothing is re-analysed",
          arguments: [false, true])
    func hashedTextsStayHidden(globalFlag: Bool) async throws {
        let analyzer = CountingAnalyzer()
        let gateway = try Fixture.gateway(analyzer)
        let words = "{\"primaries\":{\"anger\":0.9},\"explanation\":{\"words\":[{\"word\":\"secretword\",\"contribution\":0.5}],\"escalation_turns\":[]}}"
        for tenant in ["acme", "globex"] {
            let hash = Self.policies.hashesTexts(of: tenant, always: globalFlag)
            gateway.live.record([Fixture.row("chat-\(tenant)", 1, tenant: tenant, risk: 0.1, hashText: hash),
                                 Fixture.row("chat-\(tenant)", 2, tenant: tenant, risk: 0.9, alert: true, hashText: hash, eventJSON: words)])
        }
        let app = Application(router: gateway.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for (tenant, plain) in [("acme", false), ("globex", !globalFlag)] {
                let key: HTTPFields = [.authorization: "Bearer \(Fixture.key(tenant))"]
                for query in ["", "?fragment=1", "?turn=1&explain=1", "?turn=2&explain=1&fragment=1"] {
                    try await client.execute(uri: "/dialogues/\(tenant)/chat-\(tenant)\(query)", method: .get, headers: key) { r in
                        let html = String(buffer: r.body)
                        #expect(r.status == .ok)
                        #expect(html.contains("turn 1 of chat-\(tenant)") == plain, "\(tenant) \(query)")
                        #expect(html.contains("secretword") == (plain && !query.contains("turn=1")), "\(tenant) \(query)")
                    }
                }
            }
        }
        // Only globex's plain text, without the global flag, was re-analysed (turn 1 has no explanation).
        #expect(analyzer.batches.withLock { $0 }.count == (globalFlag ? 0 : 1))
    }

    @Test("a row whose rule was not resolved (hashText nil) is shown as hashed")
    func unresolvedIsHashed() {
        let live = LiveDialogues()
        var row = Fixture.row("d", 1, tenant: "acme", risk: 0)
        row.hashText = nil
        live.record([row])
        #expect(live.dialogue(.init(tenant: "acme", id: "d"), caller: "acme")?.turns.first?.text == nil)
    }
}
