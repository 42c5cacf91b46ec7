import Foundation
import Hummingbird
import Logging
import Metrics
import Pipeline
import Prometheus
import ServiceLifecycle

/// Prometheus metrics for the whole process, bootstrapped once by the CLI.
enum MetricsBootstrap {
    static let registry = PrometheusCollectorRegistry()
    private static let once: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
    }()

    static func bootstrap() { _ = once }
}

/// `/metrics` alone, for `plutchik serve`.
func makeMetricsServer(host: String, port: Int, logger: Logger) -> some Service {
    let router = Router()
    router.get("metrics") { _, _ -> Response in metricsResponse() }
    return Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
}

private func metricsResponse() -> Response {
    let body = MetricsBootstrap.registry.emitToBuffer()
    return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
}

/// `/metrics` (Prometheus text format), `/healthz` (the process is alive and not stalled) and
/// `/readyz` (it has joined its group and loaded its partitions' state, if any, and its database and
/// broker answer; how many partitions it holds is the `plutchik_assigned_partitions` gauge).
func makeObservabilityServer(port: Int, logger: Logger, processor: StreamProcessor<ModelAnalyzer>) -> some Service {
    let router = Router()
    router.get("metrics") { _, _ -> Response in metricsResponse() }
    router.get("healthz") { _, _ -> Response in
        guard let d = await processor.stall() else { return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        let text = "stalled: records waiting and no batch finished for \(Int(d / .seconds(1))) s\n"
        return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    router.get("readyz") { _, _ -> Response in
        let r = await processor.readiness()
        let text = "\(r.ready ? "ready" : "not ready"): \(r.joinedGroup ? "" : "not in the group yet, ")\(r.assignedPartitions) partitions, \(r.liveDialogues) live dialogues\(r.failure.map { ", last failure: \($0)" } ?? "")\n"
        return Response(status: r.ready ? .ok : .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    return Application(router: router, configuration: .init(address: .hostname("0.0.0.0", port: port)), logger: logger)
}
