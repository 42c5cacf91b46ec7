import ArgumentParser
import AuditStore
import Encoder
import Foundation
import Gateway
import Kafka
import Logging
import OTel
import Pipeline
import ServiceLifecycle
import Tracing

/// `plutchik run`: the stream processor.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Consume turns, publish emotion events and escalation alerts, audit to PostgreSQL.",
        discussion: """
            SIGTERM or SIGINT drains gracefully: stop fetching, finish the batch, flush, commit, leave the group. \
            SIGHUP reloads the config file's tenant settings and the model; the model is also reloaded when the \
            files in its directories change (--model-poll). A new model is loaded beside the running one and \
            takes over between batches; the live dialogues then start afresh (their offsets are kept).
            """)

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var inference: InferenceOptions
    @Option(help: "Port for /metrics, /healthz and /readyz (0: off). Env: PLUTCHIK_METRICS_PORT.")
    var metricsPort: Int?
    @Option(help: "Port for the HTTP API (POST /v1/analyze) and the live web view (0: off). Env: PLUTCHIK_HTTP_PORT.")
    var httpPort: Int?
    @OptionGroup var gatewayOptions: GatewayOptions
    @Option(help: "Seconds between checks of the heads' and escalation directories for a new model, swapped in between batches (0: only on SIGHUP).")
    var modelPoll: Double = 10
    @Flag(help: "Export a span per analyzed turn over OTLP/HTTP, child of the turn's traceparent; the endpoint and the rest come from the OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318). On when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set.")
    var otelTraces = false
    @Option(help: "A candidate heads directory (with escalation/ inside, or the running forecaster) scoring every turn into emotion_audit_shadow only, for comparison in SQL; doubles the inference work.")
    var shadowModel: String?
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        Allocator.configure()
        let logger = try logging.makeLogger(label: "plutchik.run")
        MetricsBootstrap.bootstrap()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        var tracer: (any Tracer)?
        let env = Settings.environment
        if otelTraces || env["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil || env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil {
            var otel = OTel.Configuration.default
            otel.serviceName = "plutchik"
            otel.logs.enabled = false
            otel.metrics.enabled = false
            let backend = try OTel.makeTracingBackend(configuration: otel)
            tracer = backend.factory
            services.append(.init(service: backend.service))
            logger.info("tracing turns over OTLP", metadata: ["otel.endpoint": "\(env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] ?? env["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? "default")"])
        }
        let httpPort = httpPort ?? Settings["PLUTCHIK_HTTP_PORT"].flatMap { Int($0) } ?? 0
        let live = gatewayOptions.liveDialogues(enabled: httpPort > 0)
        let processor = try await makeProcessor(
            pipeline: pipeline, heads: heads, inference: inference, bootstrap: try pipeline.bootstrapServers(),
            databaseURL: try pipeline.database(), groupID: pipeline.groupID ?? Settings.environment["PLUTCHIK_GROUP_ID"] ?? "plutchik",
            logger: logger, shadowModel: shadowModel, tracer: tracer, onAudited: live?.recorder)
        // The processor stops first and the tracing exporter after it, flushing the last spans.
        services.insert(.init(service: processor), at: 0)
        let port = metricsPort ?? Settings.environment["PLUTCHIK_METRICS_PORT"].flatMap { Int($0) } ?? 9464
        if port > 0 {
            services.append(.init(service: makeObservabilityServer(port: port, logger: logger, processor: processor)))
        }
        let analyzer = processor.analyzer
        if let live {
            // The gateway shares the processor's model; it stops after the processor.
            let gateway = try gatewayOptions.gateway(port: httpPort, analyzer: analyzer, keys: try GatewayOptions.keys(), live: live,
                                                     sharedWithStream: true, policies: processor.tenantPolicies, logger: logger)
            services.append(.init(service: gateway.service()))
        }
        let tenantSettings = Settings.configPath.map { path in
            Reloader.TenantSettingsSource(path: path, store: processor.tenantPolicies,
                                          validate: { try analyzer.validate($0) })
        }
        services.append(.init(service: Reloader(tenantSettings: tenantSettings, analyzer: analyzer,
                                                modelPoll: modelPoll > 0 ? .milliseconds(Int(modelPoll * 1000)) : nil, logger: logger)))
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        let s = await processor.stats
        logger.info("stopped", metadata: ["turns": "\(s.turns)", "events": "\(s.events)", "dlq": "\(s.deadLettered)"])
    }
}

/// The model from the heads' and escalation directories the options name, on `encoder`.
func makeAnalyzer(heads: HeadsOptions, pipeline: PipelineOptions, encoder: EncoderConfiguration, cacheCapacity: Int = 2_000,
                  policies: TenantPolicyStore = TenantPolicyStore()) throws -> ModelAnalyzer {
    try ModelAnalyzer(
        modelDirectory: heads.modelDirectory, headsDirectory: try heads.headsDirectory(),
        escalationDirectory: try pipeline.escalationDirectory(),
        encoder: encoder, cacheCapacity: cacheCapacity,
        explainAllTurns: pipeline.explainAllTurns, policies: policies, windowIdle: try pipeline.pipelineConfiguration().windowIdle)
}

/// Builds a processor: model, Kafka clients, audit writer (migrated when asked).
func makeProcessor(pipeline: PipelineOptions, heads: HeadsOptions, inference: InferenceOptions, bootstrap: String,
                   databaseURL: String, groupID: String, logger: Logger,
                   recordLatencies: Bool = false, cacheCapacity: Int = 2_000, shadowModel: String? = nil,
                   tracer: (any Tracer)? = nil, onAudited: (@Sendable ([AuditRow]) -> Void)? = nil) async throws -> StreamProcessor<ModelAnalyzer> {
    var config = try pipeline.pipelineConfiguration()
    config.recordLatencies = recordLatencies
    let encoder = inference.configuration(batchSize: config.maxBatchSize)
    InferenceOptions.announce(encoder, logger: logger)
    let policies = TenantPolicyStore(try Settings.tenantPolicies())
    let analyzer = try makeAnalyzer(heads: heads, pipeline: pipeline, encoder: encoder, cacheCapacity: cacheCapacity, policies: policies)
    do { try analyzer.validate(policies.policies) } catch { throw ValidationError("config file: \(error.message)") }
    let shadow = try shadowModel.map { path in
        let shadowHeads = URL(fileURLWithPath: path), own = shadowHeads.appendingPathComponent("escalation")
        let escalation = FileManager.default.fileExists(atPath: own.appendingPathComponent("manifest.json").path) ? own : try pipeline.escalationDirectory()
        return ShadowScorer(try ModelAnalyzer(
            modelDirectory: heads.modelDirectory, headsDirectory: shadowHeads, escalationDirectory: escalation,
            encoder: encoder, cacheCapacity: cacheCapacity,
            policies: policies), maxDialogues: config.maxLiveDialogues)
    }
    let writer = try AuditWriter(configuration: try pipeline.writerConfiguration(url: databaseURL))
    if pipeline.migrate { _ = try await writer.migrate(directory: try pipeline.migrationsDirectory()) }
    let properties = try pipeline.rdKafkaProperties()
    var producerConfig = KafkaProducerConfiguration(bootstrapServers: bootstrap)
    producerConfig.common.properties = properties
    let producer = try KafkaProducer(configuration: producerConfig, logger: logger)
    try await producer.waitUntilReachable()
    var consumerConfig = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: groupID, topics: [config.inputTopic])
    consumerConfig.common.properties = properties
    let consumer = try KafkaConsumer(configuration: consumerConfig, logger: logger)
    logger.info("processor starting", metadata: [
        "kafka.bootstrap": "\(bootstrap)", "kafka.topic": "\(config.inputTopic)", "kafka.group": "\(groupID)",
        "db.url": "\(writer.redactedURL)", "model.version": "\(analyzer.modelVersion)",
        "model.shadow": "\(shadow?.modelVersion ?? "none")",
    ])
    return StreamProcessor(configuration: config, analyzer: analyzer, consumer: consumer, producer: producer, writer: writer, logger: logger,
                           tenantPolicies: policies, shadow: shadow, tracer: tracer, onAudited: onAudited)
}
