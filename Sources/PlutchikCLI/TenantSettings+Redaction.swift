import ArgumentParser
import Foundation
import Redaction

/// The redaction keys of the tenant settings:
/// `tenant.NAME.redact=card,iban,…` (or `all`, `none`): the built-in entities to find (default all);
/// `tenant.NAME.redact_mode.ENTITY=tag|partial|hash` (ENTITY a built-in or a pattern's name, or
/// `default` for all); `tenant.NAME.redact_pattern.PATTERN=REGEX`: a custom entity `PATTERN`.
/// A tenant's keys override `tenant.*`'s. The `hash` mode's HMAC secret comes from the environment:
/// `PLUTCHIK_REDACTION_SECRET_<TENANT>` (upper-cased, other characters than letters and digits as
/// `_`), else `PLUTCHIK_REDACTION_SECRET`.
extension TenantSettings {
    static let redactionSecretVariable = "PLUTCHIK_REDACTION_SECRET"

    /// Whether `key` is one of the redaction keys above (with a tenant name).
    static func isRedactionKey(_ key: String) -> Bool { redactionKey(key) != nil }

    /// (tenant, field, argument): `tenant.a.redact_mode.card` → ("a", "redact_mode", "card").
    private static func redactionKey(_ key: String) -> (tenant: String, field: String, argument: String?)? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        if rest.hasSuffix(".redact") {
            let tenant = String(rest.dropLast(".redact".count))
            return tenant.isEmpty ? nil : (tenant, "redact", nil)
        }
        for field in ["redact_mode", "redact_pattern"] {
            guard let r = rest.range(of: ".\(field).", options: .backwards) else { continue }
            let tenant = String(rest[..<r.lowerBound]), argument = String(rest[r.upperBound...])
            return tenant.isEmpty || argument.isEmpty ? nil : (tenant, field, argument)
        }
        return nil
    }

    /// The redaction policy of every tenant named in `values` (`*` for the defaults, present
    /// always), each tenant's keys over the defaults'; `environment` holds the hash secrets.
    /// - Throws: `ValidationError` naming the bad key.
    static func redactionPolicies(from values: [String: String], environment: [String: String]) throws -> [String: RedactionPolicy] {
        struct Raw { var entities: Set<EntityKind>?; var modes: [String: (key: String, mode: RedactionMode)] = [:]; var patterns: [String: CustomPattern] = [:] }
        var raw: [String: Raw] = ["*": Raw()]
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let (tenant, field, argument) = redactionKey(key) else { continue }
            var r = raw[tenant, default: Raw()]
            switch field {
            case "redact":
                let names = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
                if names == ["all"] { r.entities = Set(EntityKind.builtIn) } else if names == ["none"] { r.entities = [] } else {
                    var set = Set<EntityKind>()
                    for n in names {
                        guard let k = EntityKind.builtIn(named: n) else {
                            throw ValidationError("\(key): unknown entity '\(n)' (known: \(EntityKind.builtIn.map(\.name).joined(separator: ",")), or all, none)")
                        }
                        set.insert(k)
                    }
                    r.entities = set
                }
            case "redact_mode":
                guard let mode = RedactionMode(rawValue: value.lowercased()) else {
                    throw ValidationError("\(key) must be tag, partial or hash, got '\(value)'")
                }
                r.modes[argument!] = (key, mode)
            default:
                do { r.patterns[argument!] = try CustomPattern(name: argument!, pattern: value) } catch {
                    throw ValidationError("\(key): \(error.message)")
                }
            }
            raw[tenant] = r
        }
        let defaults = raw["*"]!
        var out: [String: RedactionPolicy] = [:]
        for (tenant, own) in raw {
            let patterns = defaults.patterns.merging(own.patterns) { _, t in t }
            var policy = RedactionPolicy(entities: own.entities ?? defaults.entities ?? Set(EntityKind.builtIn),
                                         customPatterns: patterns.keys.sorted().map { patterns[$0]! })
            for (name, setting) in defaults.modes.merging(own.modes, uniquingKeysWith: { _, t in t }) {
                if name == "default" { policy.defaultMode = setting.mode; continue }
                guard let kind = EntityKind.builtIn(named: name) ?? patterns[name]?.kind else {
                    throw ValidationError("\(setting.key): unknown entity or pattern '\(name)'")
                }
                policy.modes[kind] = setting.mode
            }
            let variable = redactionSecretVariable + (tenant == "*" ? "" : "_" + String(tenant.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }))
            if let secret = environment[variable] ?? environment[redactionSecretVariable], !secret.isEmpty { policy.hashKey = Array(secret.utf8) }
            do { try policy.validate() } catch {
                let key = (defaults.modes.merging(own.modes) { _, t in t }).values.first { $0.mode == .hash }?.key ?? "tenant.\(tenant).redact_mode"
                throw ValidationError("\(key): \(error.message); set \(variable) or \(redactionSecretVariable) (at least 16 bytes)")
            }
            out[tenant] = policy
        }
        return out
    }
}
