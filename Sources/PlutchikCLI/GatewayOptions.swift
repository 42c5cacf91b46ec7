import ArgumentParser
import Foundation
import Gateway
import Logging
import Pipeline

/// How the HTTP gateway (API and live web view) is set up: keys from `PLUTCHIK_API_KEYS` and the
/// config file's `tenant.NAME.api_key_sha256`, limits from flags.
struct GatewayOptions: ParsableArguments {
    @Option(help: "Address the HTTP API and web view listen on.") var httpHost: String = "0.0.0.0"
    @Option(help: "The largest request body, in bytes (413 above).") var httpMaxBody: Int = 1 << 20
    @Option(help: "Analyze requests in flight at once (429 with Retry-After above).") var httpMaxInFlight: Int = 256
    @Option(help: "Dialogues the live web view keeps (least recently updated dropped first).") var liveDialogues: Int = 2_000
    @Option(help: "MiB the live web view's turns may take, about (least recently updated dialogues dropped first).") var liveMib: Int = 256

    /// The live view `run` and `demo` feed from the stream.
    func liveDialogues(enabled: Bool) -> LiveDialogues? {
        enabled ? LiveDialogues(maxDialogues: liveDialogues, maxBytes: max(1, liveMib) << 20) : nil
    }
    @Option(help: "Turns a tenant may have analyzed per second over HTTP (its token bucket; 429 rate_limited above).")
    var httpTurnsPerSecond: Double = 200
    @Option(help: "Turns a tenant may have analyzed at once over HTTP (its token bucket's size).")
    var httpBurstTurns: Double = 1_000
    @Option(help: "Turns that may wait for the model from all HTTP routes together (429 overloaded above).")
    var httpMaxQueuedTurns: Int = 1_024
    @Option(help: "Share of the model's time HTTP work may take, 0...1 (default: 0.25 beside the stream in run and demo, 1 in serve).")
    var httpModelShare: Double?
    @Option(help: "HTTP connections open at once; more are closed as they arrive.") var httpMaxConnections: Int = 4_096
    @Option(help: "Seconds an HTTP connection may go without a complete request (idle, or still sending its headers).")
    var httpIdleTimeoutSeconds: Double = 30
    @Option(help: "Seconds a request may take to arrive in full, head to end of body; past it the connection is closed.")
    var httpRequestReadTimeoutSeconds: Double = 30
    @Option(help: "Live pages' event streams (/events) open at once, in all and per tenant (429 above).")
    var httpMaxEventClients: Int = 1_000
    @Option(help: "Live pages' event streams open at once per tenant.") var httpMaxEventClientsPerTenant: Int = 100
    @Flag(help: "Start the HTTP gateway without any API key (it then refuses every request); without this flag, no key is an error.")
    var allowNoKeys = false
    @Option(help: "Failed authentications (a wrong key, a failed sign-in) a client address may make per minute; beyond it 429.")
    var httpAuthFailuresPerMinute: Int = 10
    @Flag(help: "Browsers reach the gateway through a TLS-terminating proxy only: the session cookie becomes __Host-plutchik_session with Secure, and failed sign-ins are throttled by the last X-Forwarded-For address.")
    var httpBehindTlsProxy = false
    @Option(help: "Hours a web view sign-in lasts.") var httpSessionHours: Double = 8
    @Option(help: "Directory with openapi.json and the JSON schemas. Env: PLUTCHIK_SCHEMAS_DIR. Default: <repo>/Schemas.") var schemasDir: String?

    /// - Parameter sharedWithStream: whether the model is the stream processor's too (`run`, `demo`):
    ///   HTTP work then takes at most `--http-model-share` (0.25) of its time.
    func configuration(port: Int, sharedWithStream: Bool = false) throws -> GatewayConfiguration {
        var c = GatewayConfiguration()
        c.host = httpHost
        c.port = port
        guard httpMaxBody > 0 else { throw ValidationError("--http-max-body must be positive") }
        guard httpMaxInFlight > 0 else { throw ValidationError("--http-max-in-flight must be positive") }
        c.maxBodyBytes = httpMaxBody
        c.maxInFlight = httpMaxInFlight
        c.liveDialogues = liveDialogues
        c.liveBytes = max(1, liveMib) << 20
        guard httpSessionHours > 0, httpSessionHours <= 24 * 30 else { throw ValidationError("--http-session-hours must be within 0...720") }
        c.sessionLifetime = .seconds(httpSessionHours * 3600)
        c.behindTLSProxy = httpBehindTlsProxy
        guard httpAuthFailuresPerMinute > 0 else { throw ValidationError("--http-auth-failures-per-minute must be positive") }
        c.authFailuresPerMinute = httpAuthFailuresPerMinute
        guard httpTurnsPerSecond > 0, httpBurstTurns >= 1, httpMaxQueuedTurns > 0 else {
            throw ValidationError("--http-turns-per-second, --http-burst-turns and --http-max-queued-turns must be positive")
        }
        c.turnsPerSecond = httpTurnsPerSecond
        c.burstTurns = httpBurstTurns
        c.maxQueuedTurns = httpMaxQueuedTurns
        guard httpMaxConnections > 0, httpIdleTimeoutSeconds > 0, httpRequestReadTimeoutSeconds > 0, httpMaxEventClients > 0,
              httpMaxEventClientsPerTenant > 0 else {
            throw ValidationError("--http-max-connections, --http-idle-timeout-seconds, --http-request-read-timeout-seconds and --http-max-event-clients[-per-tenant] must be positive")
        }
        c.requestReadTimeout = .seconds(httpRequestReadTimeoutSeconds)
        c.maxConnections = httpMaxConnections
        c.idleTimeout = .seconds(httpIdleTimeoutSeconds)
        c.maxEventClients = httpMaxEventClients
        c.maxEventClientsPerTenant = httpMaxEventClientsPerTenant
        let share = httpModelShare ?? (sharedWithStream ? 0.25 : 1)
        guard share > 0, share <= 1 else { throw ValidationError("--http-model-share must be within (0, 1]") }
        c.analyzerShare = share
        return c
    }

    /// The API keys: `PLUTCHIK_API_KEYS=tenant=key,...` (a quick start; the environment or the
    /// config file) and `tenant.NAME.api_key_sha256=HEX[,HEX]` lines of the config file.
    static func keys() throws -> APIKeys {
        var keys = APIKeys()
        do {
            if let pairs = Settings["PLUTCHIK_API_KEYS"] { keys = try APIKeys(pairs: pairs) }
            for (key, value) in Settings.environment.sorted(by: { $0.key < $1.key })
            where key == APIKeys.digestSetting(APIKeys.allTenants) || (TenantSettings.isTenantKey(key) && key.hasSuffix(".api_key_sha256")) {
                let tenant = key == APIKeys.digestSetting(APIKeys.allTenants)
                    ? APIKeys.allTenants : String(key.dropFirst(TenantSettings.prefix.count).dropLast(".api_key_sha256".count))
                guard tenant != APIKeys.allTenants || !key.hasPrefix(TenantSettings.prefix) else {
                    throw ValidationError("\(key): tenant.* means every tenant's defaults; the all-tenant key is \(APIKeys.digestSetting(APIKeys.allTenants))")
                }
                for digest in value.split(separator: ",") { try keys.add(tenant: tenant, sha256Hex: digest.trimmingCharacters(in: .whitespaces)) }
            }
        } catch let error as GatewayError {
            throw ValidationError("\(error.field ?? "API keys"): \(error.message)")
        }
        return keys
    }

    func schemasDirectory() throws -> URL {
        if let d = schemasDir ?? Settings["PLUTCHIK_SCHEMAS_DIR"] { return URL(fileURLWithPath: d) }
        guard let d = locateInRepository("Schemas", containing: "openapi.json") else {
            throw ValidationError("no Schemas/openapi.json found: pass --schemas-dir or set PLUTCHIK_SCHEMAS_DIR")
        }
        return d
    }

    /// Refuses to go on without a key, unless `--allow-no-keys` (call before loading the model, to
    /// fail fast).
    /// - Throws: `ValidationError` when `keys` is empty.
    func check(_ keys: APIKeys) throws {
        guard keys.isEmpty, !allowNoKeys else { return }
        throw ValidationError("no API keys configured: set PLUTCHIK_API_KEYS=tenant=key (keys of at least \(APIKeys.minimumKeyLength) characters) or tenant.NAME.api_key_sha256 in the config file, or pass --allow-no-keys to serve nothing but 401s")
    }

    /// The gateway over `analyzer`, logging which tenants have keys (never the keys).
    /// - Throws: `ValidationError` when no key is configured, unless `--allow-no-keys`.
    func gateway<A: TurnAnalyzer>(port: Int, analyzer: A, keys: APIKeys, live: LiveDialogues? = nil, sharedWithStream: Bool = false,
                                  policies: TenantPolicyStore = TenantPolicyStore(), logger: Logger) throws -> HTTPGateway<A> {
        try check(keys)
        if keys.isEmpty { logger.warning("no API keys configured (--allow-no-keys): every request gets 401") }
        let gateway = try HTTPGateway(configuration: try configuration(port: port, sharedWithStream: sharedWithStream), keys: keys, analyzer: analyzer, live: live,
                                      policies: policies, schemasDirectory: try schemasDirectory(), logger: logger)
        logger.info("http gateway configured", metadata: [
            "http.host": "\(httpHost)", "http.port": "\(port)", "http.tenants": "\(keys.tenants.joined(separator: ","))",
        ])
        return gateway
    }
}
