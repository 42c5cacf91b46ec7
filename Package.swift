// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "plutchik-stream",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "plutchik", targets: ["PlutchikCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.2.0"),
        // OTLP over HTTP only: the gRPC exporter's dependencies would double the build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.0.0", traits: ["OTLPHTTP"]),
        // HMAC-SHA-256 for redaction's keyed hashes; swift-otel's dependencies already bring 3.x or 4.x.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
    ],
    targets: [
        // C libraries, found through pkg-config. Exactly one Swift module imports each.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),

        // Google's libphonenumber (Debian's libphonenumber-dev, C++) behind a C function: phone validation.
        .target(name: "CPhoneNumber", linkerSettings: [.linkedLibrary("phonenumber")]),

        // PII redaction: entity scanners with validators and context words, per-tenant policies
        // (type tags, partial, keyed hash, custom patterns). No dependency on the model.
        .target(
            name: "Redaction",
            dependencies: ["Contracts", "CPhoneNumber", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Kafka I/O over librdkafka: consumer, producer, embedded mock cluster.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Hand-written C kernels (AVX-512 / AVX512-BF16 with runtime dispatch and fallbacks).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // Numeric kernels: GEMM on OpenBLAS, vectorised layernorm/GELU/softmax.
        .target(
            name: "Kernels",
            dependencies: ["COpenBLAS", "CKernels"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),

        // The model, one module per concern; a DAG (A ← B: B depends on A):
        // Contracts ← Tokenizer ← Encoder ← Training; Contracts ← Emotion ← Training; Contracts ← Escalation ← Training; Kernels ← Encoder, Emotion, Training.

        // Wire types and shared vocabulary: Turn, EmotionEvent, RFC 3339, the Plutchik taxonomy,
        // the prediction and forecast an event carries, ModelError, SHA-256.
        .target(name: "Contracts", dependencies: ["CKernels"]),

        // The WordPiece tokenizer and its vocabulary.
        .target(name: "Tokenizer", dependencies: ["Contracts"]),

        // The MiniLM encoder: safetensors, weights, the text embedder and its embedding cache.
        .target(name: "Encoder", dependencies: ["Contracts", "Tokenizer", "Kernels"]),

        // The emotion heads: emoji and word channels, dialogue context, manifest.
        .target(name: "Emotion", dependencies: ["Contracts", "Kernels"]),

        // The escalation forecaster: ODE solvers, the GRU cell, the alarm, manifest.
        .target(name: "Escalation", dependencies: ["Contracts"]),

        // Trainers, metrics and evaluation reports for the heads and the forecaster (never linked by Pipeline).
        .target(name: "Training", dependencies: ["Contracts", "Kernels", "Tokenizer", "Encoder", "Emotion", "Escalation"]),

        // The PostgreSQL audit sink over libpq: migrations, idempotent batched writes, state loads.
        .target(name: "AuditStore", dependencies: ["CLibPQ", .product(name: "Crypto", package: "swift-crypto")]),

        // The stream processor: validation, windows, micro-batches, publish, audit, commit.
        .target(
            name: "Pipeline",
            dependencies: [
                "Kafka", "Contracts", "Tokenizer", "Encoder", "Emotion", "Escalation", "AuditStore", "Redaction",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),

        // The HTTP gateway: POST /v1/analyze with tenant keys and limits, the OpenAPI document, the
        // live web view (server-rendered HTML, server-sent events).
        .target(
            name: "Gateway",
            dependencies: [
                "Pipeline", "Contracts", "AuditStore", "Redaction",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The `plutchik` command line: the only place that reads the environment
        // and bootstraps logging.
        .executableTarget(
            name: "PlutchikCLI",
            dependencies: [
                "CKernels",
                "Kafka",
                "Contracts",
                "Tokenizer",
                "Kernels",
                "Encoder",
                "Emotion",
                "Escalation",
                "Training",
                "AuditStore",
                "Pipeline",
                "Gateway",
                "Redaction",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),

        .testTarget(name: "RedactionTests", dependencies: ["Redaction", "Contracts"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"]),
        .testTarget(name: "AuditStoreTests", dependencies: ["AuditStore", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Kafka", "AuditStore", "Contracts", "Emotion", "Redaction",
                                                          .product(name: "InMemoryTracing", package: "swift-distributed-tracing")]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "Pipeline", "Contracts", "AuditStore",
                                                         .product(name: "HummingbirdTesting", package: "hummingbird"),
                                                         .product(name: "HTTPTypes", package: "swift-http-types")]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "ContractsTests", dependencies: ["Contracts"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "Contracts"], exclude: ["Fixtures"]),
        .testTarget(name: "EncoderTests", dependencies: ["Encoder", "Contracts"], exclude: ["Fixtures"]),
        .testTarget(name: "EmotionTests", dependencies: ["Emotion", "Contracts"]),
        .testTarget(name: "EscalationTests", dependencies: ["Escalation", "Contracts"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Contracts", "Emotion", "Escalation", "Encoder", "Kernels"]),
    ],
    swiftLanguageModes: [.v6]
)
