import ArgumentParser
import Foundation
import Training

/// `plutchik finetune-derailment`: cross-validated LoRA fine-tuning of the encoder's top layers
/// to forecast derailment from a conversation's last comment.
struct FineTuneDerailmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune-derailment",
        abstract: "Cross-validate a derailment forecaster fine-tuned from the encoder (LoRA on the top layers); print out-of-fold AUROC per epoch as JSON.")

    @Option(help: "Derailment conversations JSONL (turns with `derails` and `last`).") var derailment: String
    @Option(help: "Trained layers, from the top.") var layers: Int = 2
    @Option(help: "LoRA rank.") var rank: Int = 8
    @Option(help: "LoRA alpha.") var alpha: Float = 16
    @Option(help: "Epochs.") var epochs: Int = 4
    @Option(help: "Batch size.") var batch: Int = 16
    @Option(help: "Longest token sequence.") var maxTokens: Int = 128
    @Option(help: "Earlier comments shown before the judged one.") var contextTurns: Int = 0
    @Option(help: "Loss weight of earlier comments labelled with their conversation's outcome (0: last comments only).") var earlierWeight: Float = 0
    @Option(help: "Learning rate of the adapter.") var lr: Float = 5e-4
    @Option(help: "Learning rate of the logit.") var headLr: Float = 1e-3
    @Option(help: "Folds.") var folds: Int = 5
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Write each conversation's out-of-fold probability (last epoch) here as JSON.") var scores: String?
    @Option(help: "OpenBLAS threads.") var trainingThreads: Int = 2
    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard layers >= 1, layers <= 6, rank >= 0, epochs >= 1, batch >= 1, folds >= 2, (8...512).contains(maxTokens), contextTurns >= 0 else {
            throw ValidationError("--layers 1...6, --rank ≥ 0, --epochs ≥ 1, --batch ≥ 1, --folds ≥ 2, --max-tokens 8...512, --context-turns ≥ 0")
        }
    }

    func run() throws {
        var cf = DerailmentFineTuningConfiguration()
        cf.layers = layers; cf.rank = rank; cf.alpha = alpha; cf.epochs = epochs; cf.batchSize = batch
        cf.maxTokens = maxTokens; cf.contextTurns = contextTurns; cf.earlierWeight = earlierWeight
        cf.adapterLearningRate = lr; cf.headLearningRate = headLr; cf.folds = folds; cf.seed = seed; cf.threads = trainingThreads
        let tuner = try DerailmentFineTuner(modelDirectory: URL(fileURLWithPath: model.modelDir),
                                            adapter: model.adapter.map { URL(fileURLWithPath: $0) }, configuration: cf)
        let (epochs, oof) = tuner.crossValidate(try CorpusTurn.load(URL(fileURLWithPath: derailment)), log: printError)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        for e in epochs { print(String(decoding: try enc.encode(e), as: UTF8.self)) }
        if let scores { try enc.encode(oof).write(to: URL(fileURLWithPath: scores)) }
    }
}
