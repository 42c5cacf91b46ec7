import ArgumentParser
import EmotionModel
import Foundation

/// `plutchik train`: trains the emotion, sarcasm and intensity heads and writes weights plus manifest.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the emotion/sarcasm/intensity heads on labelled JSONL (embeddings cached in ~/.cache/plutchik).")

    @Option(name: .long, help: "Training JSONL (dataset format).") var train: String
    @Option(name: .long, help: "Validation JSONL, for early stopping.") var val: String
    @Option(name: .long, help: "Output directory for heads.f32 and manifest.json.") var out: String
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 42
    @Option(name: .long, help: "Hidden units.") var hidden: Int = 128
    @Option(name: .long, help: "Maximum epochs.") var epochs: Int = 150
    @Option(name: .long, help: "Chance of showing a training turn with its emoji stripped.") var textOnlyProbability: Float = 0.3
    @Option(name: .long, help: "Factor on embeddings in the input vector.") var embeddingScale: Float = 0.5
    @Option(name: .long, help: "AdamW weight decay.") var weightDecay: Float = 1e-4
    @Option(name: .long, help: "Hidden-layer dropout.") var dropout: Float = 0.5
    @Option(name: .long, help: "Class-weight exponent (0 = unweighted, 1 = inverse frequency).") var classWeightPower: Float = 1
    @Option(name: .long, help: "Model version recorded in the manifest and in events.") var version: String = "heads-1"
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var logging: LoggingOptions

    func run() throws {
        _ = try logging.makeLogger(label: "plutchik.train")
        let trainURL = URL(fileURLWithPath: train), valURL = URL(fileURLWithPath: val)
        let trainTurns = try LabelledTurn.load(trainURL), valTurns = try LabelledTurn.load(valURL)
        let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, cacheDirectory: HeadsOptions.cacheDirectory)
        func data(_ turns: [LabelledTurn], _ name: String) throws -> HeadsTrainingData {
            let texts = turns.map(\.text)
            let all = try embedder.embed(texts + texts.map(EmojiFeatures.strip)) { done, total in
                if done == total || done % 256 < 32 { printError("encoding \(name): \(done)/\(total)") }
            }
            return HeadsTrainingData(turns: turns, embeddings: Array(all[0..<turns.count]), textOnlyEmbeddings: Array(all[turns.count...]))
        }
        let trainData = try data(trainTurns, "train"), valData = try data(valTurns, "val")
        var cf = HeadsTrainingConfiguration()
        cf.seed = seed; cf.hidden = hidden; cf.maxEpochs = epochs; cf.textOnlyProbability = textOnlyProbability
        cf.embeddingScale = embeddingScale; cf.weightDecay = weightDecay; cf.dropout = dropout; cf.classWeightPower = classWeightPower
        let provenance = HeadsProvenance(
            version: version, trainingDataSHA256: try SHA256.hex(fileAt: trainURL),
            validationDataSHA256: try SHA256.hex(fileAt: valURL), encoderSHA256: embedder.modelSHA256 ?? "")
        let trained = HeadsTrainer.train(train: trainData, val: valData, provenance: provenance, configuration: cf) { printError($0) }
        try trained.save(to: URL(fileURLWithPath: out))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print(String(decoding: try enc.encode(trained.manifest.validation), as: UTF8.self))
        printError("best epoch \(trained.manifest.bestEpoch); wrote \(out)/manifest.json and \(out)/\(trained.manifest.weightsFile)")
    }
}
