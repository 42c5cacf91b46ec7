import ArgumentParser
import Contracts
import Encoder
import Training

import Foundation

/// `plutchik finetune`: LoRA fine-tuning of the MiniLM encoder on GoEmotions plus the seed
/// dialogue turns, with multitask linear heads.
struct FineTuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune the encoder with LoRA adapters on GoEmotions and the seed turns; write adapter, heads and manifest.",
        discussion: """
            Trains the top --layers layers (LoRA on their four dense matrices, plus their biases and \
            layernorms) with linear heads on the mean-pooled vector: 32-way Plutchik class, 8-way sector, \
            neutral and the 28 raw GoEmotions labels. Each epoch is scored on the GoEmotions dev file \
            (class macro-F1 over the 16 mapped classes, sector accuracy, neutral AUROC) and on the seed \
            val file (32-class macro-F1, emoji stripped); the epoch with the best mean of the three \
            GoEmotions figures is kept in --out (adapter.safetensors, heads.safetensors, manifest.json). \
            Load the adapter with MiniLMEncoder(modelFile:adapter:).
            """)

    @Option(name: .long, help: "GoEmotions training JSONL.") var goemotionsTrain: String
    @Option(name: .long, help: "GoEmotions dev JSONL (scored every epoch).") var goemotionsDev: String
    @Option(name: .long, help: "Seed dialogue training JSONL (dataset format).") var seedTrain: String
    @Option(name: .long, help: "Seed dialogue val JSONL (scored every epoch, emoji stripped).") var seedVal: String
    @Option(name: .long, help: "Output directory.") var out: String
    @Option(name: .long, help: "Trained layers, from the top (0: heads only, 6: all).") var layers: Int = 6
    @Option(name: .long, help: "LoRA rank.") var rank: Int = 16
    @Option(name: .long, help: "LoRA alpha (the delta is alpha/rank · B·A).") var alpha: Float = 32
    @Option(name: .long, help: "Epochs.") var epochs: Int = 2
    @Option(name: .long, help: "Batch size.") var batch: Int = 32
    @Option(name: .long, help: "Longest token sequence, [CLS] and [SEP] included.") var maxTokens: Int = 64
    @Option(name: .long, help: "Learning rate of the LoRA matrices, biases and layernorms.") var lr: Float = 5e-4
    @Option(name: .long, help: "Learning rate of the heads.") var headLr: Float = 1e-3
    @Option(name: .long, help: "AdamW weight decay (LoRA matrices and head weights).") var weightDecay: Float = 0.01
    @Option(name: .long, help: "Fraction of steps of linear warm-up.") var warmup: Float = 0.06
    @Option(name: .long, help: "Global gradient-norm clip (0: none).") var clip: Float = 1
    @Flag(name: .long, help: "Do not train the biases and layernorms of the trained layers (adapters only).")
    var freezeBiasesAndNorms = false
    @Option(name: .long, help: "Loss weight of a seed turn (class loss only).") var seedWeight: Float = 4
    @Option(name: .long, help: "Chance a seed turn is shown with its emoji stripped, per epoch.") var seedStripProbability: Float = 0.5
    @Option(name: .long, help: "Weight of the 28-label GoEmotions loss (0: off).") var goemotionsLabelWeight: Float = 0.25
    @Option(name: .long, help: "Weight of the neutral loss (GoEmotions rows).") var neutralWeight: Float = 1
    @Option(name: .long, help: "Keep only the first N rows of each data file (quick runs).") var limit: Int?
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 42
    @Flag(name: .long, help: "Store the LoRA matrices as F16.") var halfPrecision = false
    @Option(name: .long, help: "OpenBLAS threads while training (--inference-threads and --precision are for inference and unused here).")
    var trainingThreads: Int = 2
    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard (0...6).contains(layers) else { throw ValidationError("--layers must be 0...6, got \(layers)") }
        guard rank >= 0, epochs >= 1, batch >= 1, (2...512).contains(maxTokens) else {
            throw ValidationError("--rank ≥ 0, --epochs ≥ 1, --batch ≥ 1 and --max-tokens 2...512 are required")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard (1...64).contains(trainingThreads) else { throw ValidationError("--training-threads must be 1...64") }
    }

    func run() throws {
        var cf = EncoderFineTuningConfiguration()
        cf.layers = layers; cf.rank = rank; cf.alpha = alpha; cf.epochs = epochs; cf.batchSize = batch
        cf.maxTokens = maxTokens; cf.adapterLearningRate = lr; cf.headLearningRate = headLr
        cf.weightDecay = weightDecay; cf.warmupFraction = warmup; cf.gradientClip = clip
        cf.trainBiasesAndNorms = !freezeBiasesAndNorms; cf.seedWeight = seedWeight
        cf.seedStripProbability = seedStripProbability; cf.goEmotionsLabelWeight = goemotionsLabelWeight
        cf.neutralWeight = neutralWeight
        cf.limit = limit; cf.seed = seed; cf.threads = trainingThreads; cf.halfPrecisionAdapter = halfPrecision
        let dir = URL(fileURLWithPath: model.modelDir)
        for f in ["vocab.txt", "model.safetensors"] where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path) {
            throw ValidationError("\(dir.appendingPathComponent(f).path) not found: run Deploy/fetch-model.sh or set --model-dir")
        }
        let data = EncoderFineTuningData(
            goEmotionsTrain: URL(fileURLWithPath: goemotionsTrain), goEmotionsDev: URL(fileURLWithPath: goemotionsDev),
            seedTrain: URL(fileURLWithPath: seedTrain), seedVal: URL(fileURLWithPath: seedVal))
        let command = (["plutchik"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let manifest = try EncoderFineTuner(modelDirectory: dir, configuration: cf)
            .run(data: data, output: URL(fileURLWithPath: out), command: command, log: printError)
        printError("best epoch \(manifest.bestEpoch); adapter \(out)/\(manifest.adapterFile) sha256 \(manifest.adapterSHA256)")
    }
}
