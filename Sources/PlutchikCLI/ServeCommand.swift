import ArgumentParser
import Foundation
import Gateway
import Logging
import Pipeline
import ServiceLifecycle

/// `plutchik serve`: the HTTP API and the `/try` page, without the stream.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve POST /v1/analyze, /openapi.json and the web view's /try page over HTTP (no Kafka, no database).",
        discussion: """
            Keys (at least 24 characters each; without one it refuses to start unless --allow-no-keys): \
            PLUTCHIK_API_KEYS=tenant=key,tenant2=key2 (a key of tenant '*' sees every tenant), or \
            tenant.NAME.api_key_sha256=HEX (admin.api_key_sha256=HEX for every tenant) lines in the config file. The live dialogues are shown by \
            `plutchik run --http-port N`, which feeds them from the stream. SIGTERM or SIGINT stops it gracefully.
            """)

    @Option(help: "Port to listen on. Env: PLUTCHIK_HTTP_PORT.") var port: Int?
    @Option(help: "Port for /metrics (0: off). Env: PLUTCHIK_METRICS_PORT.") var metricsPort: Int?
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var inference: InferenceOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        Allocator.configure()
        let logger = try logging.makeLogger(label: "plutchik.serve")
        let keys = try GatewayOptions.keys()
        try gatewayOptions.check(keys)
        MetricsBootstrap.bootstrap()
        let encoder = inference.configuration(batchSize: 64)
        InferenceOptions.announce(encoder, logger: logger)
        let policies = TenantPolicyStore(try Settings.tenantPolicies())
        let analyzer = try makeAnalyzer(heads: heads, pipeline: pipeline, encoder: encoder, policies: policies)
        do { try analyzer.validate(policies.policies) } catch { throw ValidationError("config file: \(error.message)") }
        let port = port ?? Settings["PLUTCHIK_HTTP_PORT"].flatMap { Int($0) } ?? 8080
        let gateway = try gatewayOptions.gateway(port: port, analyzer: analyzer, keys: keys, policies: policies, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: gateway.service())]
        let metrics = metricsPort ?? Settings["PLUTCHIK_METRICS_PORT"].flatMap { Int($0) } ?? 9464
        if metrics > 0 { services.append(.init(service: makeMetricsServer(host: gatewayOptions.httpHost, port: metrics, logger: logger))) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
