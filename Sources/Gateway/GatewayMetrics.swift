import Metrics

/// The gateway's metrics (the CLI bootstraps the backend).
struct GatewayMetrics: Sendable {
    static let shared = GatewayMetrics()

    /// Turns per analyzer call.
    let batchTurns = Recorder(label: "plutchik_http_batch_turns", aggregate: true)
    /// Analyze requests refused because too many were in flight.
    let overloaded = Counter(label: "plutchik_http_overloaded_total")
    /// Time from a request's arrival to its response, analyze requests only.
    let analyzeLatency = Metrics.Timer(label: "plutchik_http_analyze_duration_seconds")
    /// Live-view clients connected.
    let liveClients = Meter(label: "plutchik_http_live_clients")
    /// Connections open, and those closed on arrival because the cap was reached.
    let connections = Meter(label: "plutchik_http_connections")
    let refusedConnections = Counter(label: "plutchik_http_connections_refused_total")

    /// Responses by status code.
    func responses(_ status: Int) -> Counter {
        Counter(label: "plutchik_http_responses_total", dimensions: [("status", String(status))])
    }
}
