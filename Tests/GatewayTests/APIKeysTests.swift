import Gateway
import Testing

@Suite("API keys")
struct APIKeysTests {
    @Test("keys map to their tenants; unknown and empty keys map to none", arguments: [
        ("acme-key", "acme"), ("globex-key", "globex"), ("viewer-key", "*"), ("acme-key ", nil), ("", nil), ("acme", nil),
    ] as [(String, String?)])
    func lookup(key: String, tenant: String?) throws {
        #expect(try Fixture.keys().tenant(for: key) == tenant)
    }

    @Test("a key given as its SHA-256 digest is accepted in any case; a malformed digest names its setting")
    func digests() throws {
        var keys = APIKeys()
        // printf 'secret' | sha256sum
        try keys.add(tenant: "acme", sha256Hex: "2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B")
        #expect(keys.tenant(for: "secret") == "acme")
        #expect(keys.tenant(for: "Secret") == nil)
        #expect(throws: GatewayError.self) { try keys.add(tenant: "x", sha256Hex: "abc") }
        do { try keys.add(tenant: "x", sha256Hex: String(repeating: "g", count: 64)) } catch {
            #expect(error.field == "tenant.x.api_key_sha256")
        }
    }

    @Test("malformed PLUTCHIK_API_KEYS pairs are refused without echoing a key", arguments: ["acme", "=k", "acme=", "a=b,c"])
    func malformedPairs(pairs: String) {
        #expect(throws: GatewayError.self) { _ = try APIKeys(pairs: pairs) }
    }
}
