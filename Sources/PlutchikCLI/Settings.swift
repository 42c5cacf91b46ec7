import ArgumentParser
import Foundation
import Pipeline
import Synchronization

/// What the CLI reads from outside: the process environment over an optional config file.
///
/// The config file (`--config FILE` or `PLUTCHIK_CONFIG=FILE`) holds `KEY=VALUE` lines with the
/// environment's names (`KAFKA_BROKERS`, `DATABASE_URL`, `PLUTCHIK_*`); `#` starts a comment.
/// Flags win over the environment, the environment over the file. An unknown key is an error
/// naming the key and its line.
enum Settings {
    static let knownKeys: Set<String> = [
        "KAFKA_BROKERS", "DATABASE_URL", "PLUTCHIK_GROUP_ID", "PLUTCHIK_MODEL_DIR", "PLUTCHIK_HEADS_DIR",
        "PLUTCHIK_ESCALATION_DIR", "PLUTCHIK_MIGRATIONS_DIR", "PLUTCHIK_HASH_TEXTS", "PLUTCHIK_TEXT_HASH_SECRET", "PLUTCHIK_METRICS_PORT",
        "PLUTCHIK_LOG_LEVEL", "PLUTCHIK_LOG_FORMAT", "PLUTCHIK_EXPLAIN", "PLUTCHIK_API_KEYS", "PLUTCHIK_HTTP_PORT", "PLUTCHIK_SCHEMAS_DIR",
        "PLUTCHIK_DLQ_KEEP_ORIGINAL",
    ]
    /// Keys with this prefix pass a librdkafka property through (`PLUTCHIK_KAFKA_SASL_MECHANISM`).
    static let kafkaPrefix = "PLUTCHIK_KAFKA_"

    private static let file = Mutex<[String: String]?>(nil)

    /// The merged settings.
    static var environment: [String: String] {
        let env = ProcessInfo.processInfo.environment
        var merged = file.withLock { $0 } ?? [:]
        if merged.isEmpty, let path = env["PLUTCHIK_CONFIG"], !path.isEmpty, let loaded = try? parse(path) { merged = loaded }
        return merged.merging(env) { _, fromEnvironment in fromEnvironment }
    }

    /// One setting.
    static subscript(_ key: String) -> String? {
        guard let v = environment[key], !v.isEmpty else { return nil }
        return v
    }

    /// Loads a config file; later reads see its values under the environment's.
    static func load(_ path: String) throws {
        let values = try parse(path)
        _ = try TenantSettings.policies(from: values)
        file.withLock { $0 = values }
        loadedPath.withLock { $0 = path }
    }

    /// Loads `path` (a `--config` flag), else the file `PLUTCHIK_CONFIG` names, if either is set.
    static func load(flag path: String?) throws {
        if let path { try load(path) }
        else if let path = ProcessInfo.processInfo.environment["PLUTCHIK_CONFIG"], !path.isEmpty { try load(path) }
    }

    /// The config file loaded, if any (reloaded on SIGHUP for the tenant settings).
    static var configPath: String? {
        loadedPath.withLock { $0 } ?? ProcessInfo.processInfo.environment["PLUTCHIK_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }
    private static let loadedPath = Mutex<String?>(nil)

    /// The config file's tenant settings (none without a file).
    static func tenantPolicies() throws -> TenantPolicies {
        try TenantSettings.policies(from: environment)
    }

    static func parse(_ path: String) throws -> [String: String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("cannot read config file \(path): \(error.localizedDescription)")
        }
        var values: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                throw ValidationError("\(path):\(n + 1): expected KEY=VALUE")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard knownKeys.contains(key) || key.hasPrefix(kafkaPrefix) || TenantSettings.isTenantKey(key) || key == "admin.api_key_sha256" else {
                throw ValidationError("\(path):\(n + 1): unknown setting '\(key)' (known: \(knownKeys.sorted().joined(separator: ", ")), \(kafkaPrefix)*, tenant.NAME.{\(TenantSettings.keys.joined(separator: ","))}, tenant.NAME.{redact,redact_mode.ENTITY,redact_pattern.NAME}, admin.api_key_sha256)")
            }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
            values[key] = value
        }
        return values
    }
}
