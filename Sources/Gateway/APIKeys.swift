import Contracts
import Foundation

/// The API keys and the tenant each belongs to, held only as SHA-256 digests.
///
/// A key of the tenant ``allTenants`` (`*`) sees every tenant (an operator's or a wall screen's
/// viewer key); any other key sees its own tenant's dialogues only, and its turns are analyzed
/// under its tenant's settings.
///
/// Keys given in the clear are at least ``minimumKeyLength`` characters, and no key (clear or
/// digest) may be configured twice: either is an error naming the tenants, never the key.
public struct APIKeys: Sendable {
    /// The tenant name that stands for every tenant.
    public static let allTenants = "*"
    /// The shortest key accepted in the clear (24 characters: well over 100 bits when random).
    public static let minimumKeyLength = 24

    struct Entry: Sendable {
        var tenant: String
        var digest: [UInt8]
    }
    private var entries: [Entry] = []

    /// No keys: every request is refused.
    public init() {}

    /// Keys given as `tenant=key` pairs separated by commas (`PLUTCHIK_API_KEYS`).
    /// - Throws: ``GatewayError`` naming the malformed pair (without its key).
    public init(pairs: String) throws(GatewayError) {
        for (n, item) in pairs.split(separator: ",").enumerated() {
            let pair = item.trimmingCharacters(in: .whitespaces)
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex, pair.index(after: eq) != pair.endIndex else {
                throw GatewayError(.invalidRequest, "API key pair \(n + 1) is not tenant=key", field: "PLUTCHIK_API_KEYS")
            }
            try add(tenant: String(pair[..<eq]), key: String(pair[pair.index(after: eq)...]))
        }
    }

    /// Adds a key given in the clear.
    /// - Throws: ``GatewayError`` naming the tenant when the key is shorter than
    ///   ``minimumKeyLength`` or already configured.
    public mutating func add(tenant: String, key: String) throws(GatewayError) {
        guard key.count >= Self.minimumKeyLength else {
            throw GatewayError(.invalidRequest, "the API key of tenant '\(tenant)' has \(key.count) characters; at least \(Self.minimumKeyLength) are required",
                               field: "PLUTCHIK_API_KEYS")
        }
        try add(Entry(tenant: tenant, digest: SHA256.hash(Data(key.utf8))), field: "PLUTCHIK_API_KEYS")
    }

    private mutating func add(_ entry: Entry, field: String) throws(GatewayError) {
        if let other = entries.first(where: { $0.digest == entry.digest }) {
            throw GatewayError(.invalidRequest, "an API key of tenant '\(entry.tenant)' is configured already (for tenant '\(other.tenant)'); each key belongs to one tenant",
                               field: field)
        }
        entries.append(entry)
    }

    /// Adds a key given as its SHA-256 digest in hex (as the config file stores it).
    /// - Throws: ``GatewayError`` when `hex` is not 64 hex digits.
    public mutating func add(tenant: String, sha256Hex hex: String) throws(GatewayError) {
        let digits = Array(hex.lowercased().utf8)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        var digest: [UInt8] = []
        if digits.count == 64 {
            for i in stride(from: 0, to: 64, by: 2) {
                guard let h = value(digits[i]), let l = value(digits[i + 1]) else { break }
                digest.append(h << 4 | l)
            }
        }
        guard digest.count == 32 else {
            throw GatewayError(.invalidRequest, "the API key digest of tenant '\(tenant)' is not 64 hex digits", field: Self.digestSetting(tenant))
        }
        try add(Entry(tenant: tenant, digest: digest), field: Self.digestSetting(tenant))
    }

    /// The config file's setting for `tenant`'s key digests: `tenant.NAME.api_key_sha256`, or for
    /// the all-tenant key `admin.api_key_sha256` (never `tenant.*`, which means defaults elsewhere).
    public static func digestSetting(_ tenant: String) -> String {
        tenant == allTenants ? "admin.api_key_sha256" : "tenant.\(tenant).api_key_sha256"
    }

    /// Whether no key is configured.
    public var isEmpty: Bool { entries.isEmpty }

    /// The tenants that have keys, for the start-up log (never the keys).
    public var tenants: [String] { Array(Set(entries.map(\.tenant))).sorted() }

    /// The tenant `key` belongs to, or nil. Every digest is compared in full, so the time taken
    /// does not tell how much of a key was right.
    public func tenant(for key: String) -> String? {
        let digest = SHA256.hash(Data(key.utf8))
        var found: String?
        for e in entries {
            var diff: UInt8 = 0
            for (a, b) in zip(e.digest, digest) { diff |= a ^ b }
            if diff == 0, found == nil { found = e.tenant }
        }
        return found
    }
}
