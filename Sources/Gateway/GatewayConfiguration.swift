import Pipeline

/// How the HTTP gateway listens and what it accepts.
public struct GatewayConfiguration: Sendable {
    /// The address to listen on.
    public var host = "0.0.0.0"
    /// The port to listen on (0: any free port).
    public var port = 8080
    /// The largest request body accepted, in bytes; larger gets 413.
    public var maxBodyBytes = 1 << 20
    /// The most turns one `POST /v1/analyze` may carry; more gets 422.
    public var maxTurns = 64
    /// Analyze requests admitted at once; more get 429 with `Retry-After`.
    public var maxInFlight = 256
    /// The seconds a 429 asks the client to wait.
    public var retryAfterSeconds = 1
    /// The most turns analyzed in one batch; requests that arrive while a batch runs join the next.
    public var maxBatchTurns = 64
    /// The most turns waiting for the model, from every route (analyze, `/try`, explanations);
    /// a request that would go over gets 429 with `Retry-After`.
    public var maxQueuedTurns = 1_024
    /// The share of the model's time HTTP work may take (0...1]. `run` sets 0.25 (its stream has
    /// the rest); `serve` keeps 1.
    public var analyzerShare = 1.0
    /// Each tenant's token bucket, in turns analyzed: `burstTurns` at once, then `turnsPerSecond`
    /// (all of a tenant's keys and sessions share it; `.infinity` turns it off). The defaults are
    /// far above what a person at a browser asks for.
    public var turnsPerSecond = 200.0
    public var burstTurns = 1_000.0
    /// The live pages' event streams (`/events`) open at once, in all and per tenant (429 above),
    /// and how often each gets a heartbeat (a closed client is noticed within one).
    public var maxEventClients = 1_000
    public var maxEventClientsPerTenant = 100
    public var eventsHeartbeat: Duration = .seconds(15)
    /// Connections open at once (more are closed as they arrive), and how long a connection may
    /// sit without a complete request (idle between requests, or still sending its headers).
    public var maxConnections = 4_096
    public var idleTimeout: Duration = .seconds(30)
    /// How long a request may take to arrive in full, head to end of body (the connection is
    /// closed past it).
    public var requestReadTimeout: Duration = .seconds(30)
    /// Explanations kept for the live view, by (dialogue, turn).
    public var explanationCacheSize = 1_000
    /// The checks every turn passes, as in the stream (`Turn.parse` plus the stream's limits).
    public var validator = TurnValidator()
    /// How many dialogues the live view keeps (the least recently updated go first), and how many
    /// turns of each.
    public var liveDialogues = 2_000
    public var liveTurnsPerDialogue = 200
    /// About the memory the live view's turns may take (texts and events); the least recently
    /// updated dialogues go first beyond it.
    public var liveBytes = 256 << 20
    /// How long a web view sign-in lasts, and how many sessions are kept at once (the one closest
    /// to expiry goes first).
    public var sessionLifetime: Duration = .seconds(8 * 3600)
    public var maxSessions = 10_000
    /// Whether browsers reach the gateway through a TLS-terminating proxy only: then the session
    /// cookie is `__Host-plutchik_session` with `Secure`, and the client address for throttling is
    /// the last `X-Forwarded-For` entry. Off, the cookie is `plutchik_session` without `Secure`
    /// (plain HTTP, e.g. on loopback; browsers refuse `__Host-` and `Secure` cookies there).
    public var behindTLSProxy = false
    /// Failed authentications (a wrong key, a failed sign-in) a client address may make per
    /// minute; beyond it the address gets 429 with `Retry-After` until the minute is over.
    public var authFailuresPerMinute = 10

    public init() {}
}
