import Contracts
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import Logging
import Pipeline
import ServiceLifecycle
import Synchronization

/// The HTTP face of the processor: `POST /v1/analyze` for callers outside Kafka, the OpenAPI
/// document, and the read-only live web view (`/`, `/dialogues/{tenant}/{id}`, `/try`, `/events`).
///
/// Every route but the documents and `/login` needs an API key (``APIKeys``): `Authorization:
/// Bearer KEY` or `X-API-Key: KEY`; the pages also take the session cookie `POST /login` sets
/// (`HTTPGateway+Authentication`). Keys are never logged.
public final class HTTPGateway<Analyzer: TurnAnalyzer>: Sendable {
    public let configuration: GatewayConfiguration
    let keys: APIKeys
    let batcher: AnalyzeBatcher<Analyzer>
    /// The live dialogues the web view shows (fed by the stream processor, empty without one).
    public let live: LiveDialogues
    /// The files served as they are: `openapi.json` and the schemas it refers to, by name.
    let documents: [String: [UInt8]]
    let logger: Logger
    private let inFlight = Mutex(0)
    /// The web view's sign-in sessions.
    let sessions: SessionStore
    /// Failed authentications per client address.
    let throttle: AuthThrottle
    /// Each tenant's budget of turns for the model, and the live view's explanations already computed.
    let buckets: TokenBuckets
    let explanations: ExplanationCache
    /// The tenants' settings (redaction policies), read per request.
    let policies: TenantPolicyStore
    /// The live pages' event streams open, and the connections open.
    let eventClients: EventClients
    let connections: ConnectionLimiter
    let metrics = GatewayMetrics.shared

    /// - Parameters:
    ///   - schemasDirectory: where `openapi.json`, `turn.schema.json` and
    ///     `emotion-event.schema.json` are read from (served at `/openapi.json` and beside it).
    ///   - policies: the tenants' settings; their redaction policies apply to what responses and
    ///     pages show of a text (explanation words, `/try`'s text).
    public init(configuration: GatewayConfiguration = .init(), keys: APIKeys, analyzer: Analyzer, live: LiveDialogues? = nil,
                policies: TenantPolicyStore = TenantPolicyStore(), schemasDirectory: URL, logger: Logger) throws {
        self.configuration = configuration
        self.policies = policies
        self.keys = keys
        self.sessions = SessionStore(lifetime: configuration.sessionLifetime, maxSessions: configuration.maxSessions)
        self.throttle = AuthThrottle(limit: configuration.authFailuresPerMinute)
        self.batcher = AnalyzeBatcher(analyzer: analyzer, maxBatchTurns: configuration.maxBatchTurns,
                                      maxQueuedTurns: configuration.maxQueuedTurns, share: configuration.analyzerShare)
        self.buckets = TokenBuckets(rate: configuration.turnsPerSecond, burst: configuration.burstTurns)
        self.explanations = ExplanationCache(capacity: configuration.explanationCacheSize)
        self.eventClients = EventClients(maxTotal: configuration.maxEventClients, maxPerTenant: configuration.maxEventClientsPerTenant)
        self.connections = ConnectionLimiter(maxConnections: configuration.maxConnections)
        self.live = live ?? LiveDialogues(maxDialogues: configuration.liveDialogues, maxTurnsPerDialogue: configuration.liveTurnsPerDialogue,
                                          maxBytes: configuration.liveBytes)
        var documents: [String: [UInt8]] = [:]
        for name in ["openapi.json", "turn.schema.json", "emotion-event.schema.json", "escalation-alert.schema.json"] {
            let url = schemasDirectory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw GatewayError(.notFound, "cannot read \(url.path): the gateway serves it", field: "schemas")
            }
            documents[name] = Array(data)
        }
        self.documents = documents
        self.logger = logger
    }

    /// The routes.
    public func router() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware(logger: logger, errorResponse: errorResponse))
        router.post("v1/analyze") { request, context in try await self.analyze(request, context: context) }
        for name in documents.keys.sorted() {
            router.get(RouterPath(stringLiteral: name)) { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                         body: .init(byteBuffer: ByteBuffer(bytes: self.documents[name]!)))
            }
        }
        router.get("healthz") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        addPages(to: router)
        return router
    }

    /// The server as a service: it stops taking connections on graceful shutdown, and the live
    /// pages' event streams end so the requests in flight can finish.
    /// - Parameter onListening: told the port once the server listens (useful with port 0).
    public func service(onListening: (@Sendable (Int) async -> Void)? = nil) -> some Service {
        GatewayService(application: Application(
            router: router(),
            server: serverBuilder,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "plutchik"),
            onServerRunning: { channel in await onListening?(channel.localAddress?.port ?? 0) },
            logger: logger), live: live)
    }

    /// HTTP/1.1 with the idle (and header-read) timeout, the request-read timeout and the connection cap.
    var serverBuilder: HTTPServerBuilder {
        let limiter = connections, readTimeout = TimeAmount(configuration.requestReadTimeout)
        return .http1(configuration: .init(additionalChannelHandlers: [limiter.handler(), RequestReadTimeout(timeout: readTimeout)],
                                           idleTimeout: .init(configuration.idleTimeout)))
    }

    // MARK: POST /v1/analyze

    func analyze(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await analyzeOrThrow(request, context: context)
        } catch let error as GatewayError {
            response = errorResponse(error)
        }
        metrics.responses(response.status.code).increment()
        metrics.analyzeLatency.record(duration: ContinuousClock.now - started)
        return response
    }

    private func analyzeOrThrow(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let tenant = try apiTenant(of: request, context: context) else {
            throw GatewayError(.unauthorized, "a valid API key is required (Authorization: Bearer KEY or X-API-Key)", field: "Authorization")
        }
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw GatewayError(.bodyTooLarge, "the body has \(length) bytes; the limit is \(limit)", field: "body")
        }
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: limit) } catch {
            throw GatewayError(.bodyTooLarge, "the body is larger than \(limit) bytes", field: "body")
        }
        // The slot is taken once the body is in: slow uploads hold no slot other callers need.
        let hasSlot = inFlight.withLock { n in
            guard n < configuration.maxInFlight else { return false }
            n += 1
            return true
        }
        guard hasSlot else {
            metrics.overloaded.increment()
            throw GatewayError(.overloaded, "more than \(configuration.maxInFlight) requests in flight; retry after \(configuration.retryAfterSeconds) s", isRetriable: true)
        }
        defer { inFlight.withLock { $0 -= 1 } }
        let parsed = try AnalyzeRequest.parse(Array(buffer: body), tenant: tenant, configuration: configuration)
        let explain = request.uri.queryParameters.get("explain").map { $0 == "true" || $0 == "1" } ?? false
        let analyses = try await admitted(parsed.turns, caller: tenant, explain: explain)
        let events = self.events(parsed.turns, analyses, modelVersion: batcher.analyzer.modelVersion).events
        let encoder = EmotionEvent.encoder()
        var out: [UInt8] = []
        if parsed.isDialogue { out += Array("{\"events\":[".utf8) }
        for (i, event) in events.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += try event.jsonBytes(encoder: encoder)
        }
        if parsed.isDialogue { out += Array("]}".utf8) }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    /// The one way into the model, for every route (analyze, `/try`, explanations): the caller's
    /// token bucket, then the batcher's bounded queue; either answers 429 with `Retry-After`.
    /// A turn costs one token, and an explained one a token per word more (an encoder pass each).
    func admitted(_ turns: [TimedTurn], caller: String, explain: Bool, onlyLast: Bool = false) async throws -> [TurnAnalysis] {
        let explained = explain ? (onlyLast ? Array(turns.suffix(1)) : turns) : []
        let cost = turns.count + explained.reduce(0) { $0 + $1.turn.text.split(separator: " ").count }
        if let wait = buckets.take(cost, from: caller) {
            metrics.overloaded.increment()
            var error = GatewayError(.rateLimited, "this tenant's model budget is spent for now; retry after \(wait) s", isRetriable: true)
            error.retryAfterSeconds = wait
            throw error
        }
        return try await batcher.analyze(turns, explain: explain, onlyLast: onlyLast, caller: caller)
    }

    /// The events of analyzed turns, as the stream builds them (without `source`: no Kafka record):
    /// explanation words, caller attributes and `redactions` as the turn's tenant's redaction policy leaves them, and
    /// the turns' texts so redacted (the analysis ran on the originals).
    func events(_ turns: [TimedTurn], _ analyses: [TurnAnalysis], modelVersion: String) -> (events: [EmotionEvent], texts: [String]) {
        let now = Date(), policies = self.policies.policies
        var events: [EmotionEvent] = [], texts: [String] = []
        for (timed, a) in zip(turns, analyses) {
            var event = EmotionEvent(turn: timed.turn, prediction: a.prediction, modelVersion: modelVersion, processedAt: now)
            event.ts = EmotionEvent.timestamp(timed.timestamp)
            event.escalation = a.escalation
            texts.append(policies.policy(for: timed.turn.tenant).redactor().redact(timed.turn.text, explanation: a.explanation, into: &event))
            events.append(event)
        }
        return (events, texts)
    }

    /// The response to `error`: its code and message (never its cause, which is logged).
    func errorResponse(_ error: GatewayError) -> Response {
        if let cause = error.cause {
            logger.error("request failed", metadata: ["error.code": "\(error.code)", "error.cause": "\(cause)"])
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if error.status == .tooManyRequests { headers[.retryAfter] = String(error.retryAfterSeconds ?? configuration.retryAfterSeconds) }
        if error.code == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: error.json)))
    }
}

/// Runs the gateway's application; on graceful shutdown the live pages' event streams end.
struct GatewayService<App: ApplicationProtocol>: Service {
    let application: App
    let live: LiveDialogues

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await application.run()
        } onGracefulShutdown: {
            live.close()
        }
    }
}
