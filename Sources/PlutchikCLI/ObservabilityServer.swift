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

/// `/metrics` (Prometheus text format), `/healthz` (the process is alive) and `/readyz` (it holds
/// partitions, their state is loaded, and its database and broker answer).
func makeObservabilityServer(port: Int, logger: Logger, readiness: @escaping @Sendable () async -> StreamProcessor<ModelAnalyzer>.Readiness) -> some Service {
    let router = Router()
    router.get("metrics") { _, _ -> Response in
        let body = MetricsBootstrap.registry.emitToBuffer()
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
    router.get("healthz") { _, _ in "ok\n" }
    router.get("readyz") { _, _ -> Response in
        let r = await readiness()
        let text = "\(r.ready ? "ready" : "not ready"): \(r.assignedPartitions) partitions, \(r.liveDialogues) live dialogues\(r.failure.map { ", last failure: \($0)" } ?? "")\n"
        return Response(status: r.ready ? .ok : .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    return Application(router: router, configuration: .init(address: .hostname("0.0.0.0", port: port)), logger: logger)
}
