import ArgumentParser
import Encoder
import Foundation
import Kernels
import Logging
import Metrics

extension EncoderPrecision: ExpressibleByArgument {}
extension CPUFeatures.Limit: ExpressibleByArgument {}

/// `--inference-threads` and `--precision`: how the encoder runs, shared by the commands that run it.
struct InferenceOptions: ParsableArguments {
    @Option(name: [.customLong("inference-threads"), .customLong("threads")],
            help: "Encoder threads; each GEMM's output columns are split over them (default: the cores this process may use, by CPU affinity and cgroup quota, at most the batch size). --threads is the old name.")
    var inferenceThreads: Int?

    @Option(help: "Encoder arithmetic: fp32, bf16 (native on AVX512-BF16; elsewhere emulated with the same numbers at fp32 speed, to check its quality), int8 (dense layers in 8 bits: vpdpbusd on AVX512-VNNI or AVX-VNNI, AVX2 or plain C elsewhere with the same numbers) or auto (bf16 where the CPU has AVX512-BF16, else fp32).")
    var precision: EncoderPrecision = .auto

    @Option(help: "Use no instruction set above this: none (no limit), avx-vnni (AVX2 with AVX-VNNI, no AVX-512), avx2 or portable, to measure those kernels on a CPU that has more.")
    var isaLimit: CPUFeatures.Limit = .none

    func validate() throws {
        CPUFeatures.limit(isaLimit)
        if let t = inferenceThreads, !(1...64).contains(t) { throw ValidationError("--inference-threads must be 1...64, got \(t)") }
    }

    /// The threads for batches of `batchSize`.
    func threads(batchSize: Int) -> Int { inferenceThreads ?? max(1, min(CPUFeatures.usableCPUs, batchSize)) }

    /// The encoder's configuration for batches of `batchSize`.
    func configuration(batchSize: Int, maxLength: Int = 128) -> EncoderConfiguration {
        EncoderConfiguration(threads: threads(batchSize: batchSize), maxLength: maxLength, batchSize: batchSize, precision: precision)
    }

    /// Logs what the encoder runs on and exports it as gauges (`plutchik_encoder_threads`,
    /// `plutchik_encoder_precision{precision}` = 1 for the one in use, 0 for the others).
    static func announce(_ configuration: EncoderConfiguration, logger: Logger) {
        let resolved = configuration.precision.resolved
        logger.info("encoder configured", metadata: [
            "encoder.precision": "\(resolved)", "encoder.precision_requested": "\(configuration.precision)",
            "encoder.threads": "\(configuration.threads)", "cpu.avx512bf16": "\(EncoderPrecision.nativeBF16)",
            "cpu.avx512vnni": "\(CPUFeatures.avx512vnni)",
        ])
        if resolved == .bf16 && !EncoderPrecision.nativeBF16 {
            logger.warning("bf16 is emulated on this CPU (no AVX512-BF16): same numbers, no faster than fp32", metadata: [
                "encoder.precision": "bf16"])
        }
        Gauge(label: "plutchik_encoder_threads").record(configuration.threads)
        for p in [EncoderPrecision.fp32, .bf16, .int8] {
            Gauge(label: "plutchik_encoder_precision", dimensions: [("precision", p.rawValue)]).record(p == resolved ? 1 : 0)
        }
    }
}
