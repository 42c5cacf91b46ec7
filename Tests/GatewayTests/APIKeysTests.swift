import Contracts
import Foundation
import Gateway
import Testing

@Suite("API keys")
struct APIKeysTests {
    @Test("keys map to their tenants; unknown and empty keys map to none", arguments: [
        ("acme-key-0123456789abcdefghij", "acme"), ("globex-key-0123456789abcdefghij", "globex"), ("viewer-key-0123456789abcdefghij", "*"), ("acme-key-0123456789abcdefghij ", nil), ("", nil), ("acme", nil),
    ] as [(String, String?)])
    func lookup(key: String, tenant: String?) throws {
        #expect(try Fixture.keys().tenant(for: key) == tenant)
    }

    @Test("a key given as its SHA-256 digest is accepted in any case; a malformed digest names its setting")
    func digests() throws {
        var keys = APIKeys()
        // printf 'secret' | sha256sum (a digest's key length cannot be checked)
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

    /// #40 item 6. Findings: no minimum key length; a key configured for two tenants silently went
    /// to the first; `tenant.*.api_key_sha256` silently made an all-tenant key.
    @Test("a key shorter than 24 characters is refused naming its tenant, never the key")
    func shortKey() {
        #expect { _ = try APIKeys(pairs: "acme=\(Fixture.key("acme")),globex=short-key-23-characters") } throws: { error in
            let message = "\(error)"
            return message.contains("'globex'") && message.contains("23 characters") && !message.contains("short-key")
        }
        #expect(throws: Never.self) { _ = try APIKeys(pairs: "acme=\(String(repeating: "k", count: 24))") }
    }

    @Test("a key configured twice is an error naming both tenants: in the clear, as digests, or one of each")
    func duplicateKeys() throws {
        let key = Fixture.key("acme"), digest = SHA256.hex(Data(key.utf8))
        #expect { _ = try APIKeys(pairs: "acme=\(key),globex=\(key)") } throws: { "\($0)".contains("'globex'") && "\($0)".contains("'acme'") }
        var keys = try APIKeys(pairs: "acme=\(key)")
        #expect(throws: GatewayError.self) { try keys.add(tenant: "*", sha256Hex: digest.uppercased()) }
        var digests = APIKeys()
        try digests.add(tenant: "acme", sha256Hex: digest)
        #expect { try digests.add(tenant: "acme", sha256Hex: digest) } throws: { ($0 as? GatewayError)?.field == "tenant.acme.api_key_sha256" }
    }

    @Test("the all-tenant key's digest is spelled admin.api_key_sha256, never tenant.*")
    func allTenantSetting() {
        #expect(APIKeys.digestSetting("*") == "admin.api_key_sha256" && APIKeys.digestSetting("acme") == "tenant.acme.api_key_sha256")
    }
}
