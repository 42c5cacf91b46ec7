import ArgumentParser
import Foundation
import Logging
import Pipeline
import ServiceLifecycle
import UnixSignals

/// Per-tenant settings in the config file: `tenant.NAME.KEY=VALUE` lines, with `tenant.*.KEY` for
/// every tenant without its own (and turns without a tenant). Keys: `alert_upper`, `alert_lower`,
/// `neutral_threshold` (0...1), `neutral_base_rate` (0 < rate < 1: the share of the tenant's turns
/// expected to be neutral) and `hash_texts` (true/false), reloaded on SIGHUP; and
/// `api_key_sha256` (the SHA-256 hex digests of the tenant's API keys, comma-separated; read at start);
/// and the redaction keys (`TenantSettings+Redaction.swift`), each tenant's policy complete over `tenant.*`'s.
enum TenantSettings {
    static let prefix = "tenant."
    static let keys = ["alert_upper", "alert_lower", "neutral_threshold", "neutral_base_rate", "hash_texts", "api_key_sha256"]

    /// Whether `key` is a well-formed tenant setting.
    static func isTenantKey(_ key: String) -> Bool {
        guard key.hasPrefix(prefix), let dot = key.lastIndex(of: ".") else { return false }
        let name = key[key.index(key.startIndex, offsetBy: prefix.count)..<dot]
        return (!name.isEmpty && keys.contains(String(key[key.index(after: dot)...]))) || isRedactionKey(key)
    }

    /// The policies in `values` (a parsed config file).
    /// - Throws: `ValidationError` naming the setting whose value is not a number or a boolean.
    static func policies(from values: [String: String]) throws -> TenantPolicies {
        let redaction = try redactionPolicies(from: values, environment: ProcessInfo.processInfo.environment)
        var out = TenantPolicies()
        for (name, policy) in redaction {
            if name == "*" { out.defaults.redaction = policy } else { out.tenants[name, default: TenantPolicy()].redaction = policy }
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) where isTenantKey(key) && !isRedactionKey(key) {
            let dot = key.lastIndex(of: ".")!
            let name = String(key[key.index(key.startIndex, offsetBy: prefix.count)..<dot]), field = String(key[key.index(after: dot)...])
            var p = name == "*" ? out.defaults : out.tenants[name, default: TenantPolicy()]
            if field == "api_key_sha256" { continue }  // the gateway's (GatewayOptions.keys())
            if field == "hash_texts" {
                guard let b = Bool(value.lowercased()) else { throw ValidationError("\(key) must be true or false, got '\(value)'") }
                p.hashTexts = b
            } else {
                guard let f = Float(value), f.isFinite else { throw ValidationError("\(key) must be a number, got '\(value)'") }
                switch field {
                case "alert_upper": p.alertUpper = f
                case "alert_lower": p.alertLower = f
                case "neutral_base_rate": p.neutralBaseRate = f
                default: p.neutralThreshold = f
                }
            }
            if name == "*" { out.defaults = p } else { out.tenants[name] = p }
        }
        return out
    }
}
