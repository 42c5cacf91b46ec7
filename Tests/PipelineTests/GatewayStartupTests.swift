import Foundation
import Testing

/// #40 item 6, at start-up: `plutchik serve` without a key used to start and answer 401 to
/// everything, short keys and keys configured twice were accepted, and `tenant.*.api_key_sha256`
/// silently made an all-tenant key. Each is now a refusal to start, naming the tenant or setting.
@Suite("The gateway's key policy at start-up")
struct GatewayStartupTests {
    /// Runs `plutchik serve` with only `environment` (and PATH), returns its exit status and stderr.
    static func serve(_ environment: [String: String], _ arguments: [String] = []) throws -> (Int32, String) {
        try runPlutchik(["serve", "--port", "0", "--metrics-port", "0", "--http-host", "127.0.0.1"] + arguments, environment: environment)
    }

    @Test("refused: no key (without --allow-no-keys), a short key, a key twice, tenant.* as the all-tenant key", arguments: [
        ([:], "no API keys configured"),
        (["PLUTCHIK_API_KEYS": "acme=0123456789abcdefghijklmn,globex=short"], "tenant 'globex' has 5 characters"),
        (["PLUTCHIK_API_KEYS": "acme=0123456789abcdefghijklmn,globex=0123456789abcdefghijklmn"], "configured already (for tenant 'acme')"),
        (["tenant.*.api_key_sha256": String(repeating: "ab", count: 32)], "admin.api_key_sha256"),
    ] as [([String: String], String)])
    func refused(environment: [String: String], message: String) throws {
        let (status, stderr) = try Self.serve(environment)
        #expect(status != 0 && stderr.contains(message), "\(status): \(stderr)")
        #expect(!stderr.contains("0123456789abcdefghijklmn"), "a key reached the output")
    }
}
