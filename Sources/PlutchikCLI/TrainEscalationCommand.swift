import ArgumentParser
import EmotionModel
import Foundation

/// `plutchik train-escalation`: trains the ODE-RNN escalation forecaster and its discrete GRU
/// baseline on labelled dialogues, evaluates both on a validation file, writes the model directory.
struct TrainEscalationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-escalation",
        abstract: "Train the escalation forecaster (ODE-RNN) and its GRU baseline; write weights and manifest.",
        discussion: """
            Inputs are the annotated emotions (one-hot, ring intensity, sarcasm flag); inter-turn gaps are \
            synthesised (see EscalationGaps). Writes DIR/weights.json (ODE), DIR/gru.json (baseline) and \
            DIR/manifest.json (data hashes, settings, hold-out and validation metrics). Deterministic for a seed.
            """
    )

    @Option(help: "Training dialogues (JSONL).")
    var train: String
    @Option(help: "Validation dialogues (JSONL), only evaluated.")
    var val: String
    @Option(help: "Output directory.")
    var out: String = "Models/escalation"
    @Option(help: "Epochs.")
    var epochs: Int = 60
    @Option(help: "Random seed (initialisation, shuffling, gap resampling).")
    var seed: UInt64 = 1
    @Option(help: "Latent width (16–32).")
    var latent: Int = 16
    @Option(help: "Learning rate.")
    var lr: Float = 3e-3

    func validate() throws {
        guard (4...64).contains(latent), epochs >= 1 else { throw ValidationError("--latent must be 4–64 and --epochs ≥ 1") }
    }

    func run() throws {
        let gaps = EscalationGaps()
        let trainURL = URL(fileURLWithPath: train), valURL = URL(fileURLWithPath: val)
        let trainSet = try EscalationDialogue.load(trainURL, gaps: gaps, seed: 0)
        let valSet = try EscalationDialogue.load(valURL, gaps: gaps, seed: 0)
        var o = EscalationTrainer.Options()
        o.seed = seed; o.epochs = epochs; o.latentDim = latent; o.learningRate = lr
        let log = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }

        let start = Date()
        let odeResult = EscalationTrainer.train(trainSet, ode: true, options: o, gaps: gaps, log: log)
        let gruResult = EscalationTrainer.train(trainSet, ode: false, options: o, gaps: gaps, log: log)
        log(String(format: "trained in %.1f s", Date().timeIntervalSince(start)))

        let alarm = EscalationAlarm()
        let ode = EscalationForecaster(weights: odeResult.weights, alarm: alarm)
        let gru = EscalationForecaster(weights: gruResult.weights, alarm: alarm)
        let valReport = try EscalationReport.evaluate(valSet, forecaster: ode, gru: gru)
        let holdoutReport = try EscalationReport.evaluate(odeResult.holdout, forecaster: ode, gru: gru)

        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try odeResult.weights.save(dir.appendingPathComponent("weights.json"))
        try gruResult.weights.save(dir.appendingPathComponent("gru.json"))
        let manifest = EscalationManifest(
            version: 1,
            command: "plutchik train-escalation --train \(trainURL.lastPathComponent) --val \(valURL.lastPathComponent) --epochs \(epochs) --seed \(seed) --latent \(latent) --lr \(lr)",
            trainHash: try EscalationManifest.hash(fileAt: trainURL), valHash: try EscalationManifest.hash(fileAt: valURL),
            gaps: gaps, training: o, alarm: alarm, val: valReport, holdout: holdoutReport,
            bestEpochODE: odeResult.bestEpoch, bestEpochGRU: gruResult.bestEpoch)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(manifest).write(to: dir.appendingPathComponent("manifest.json"), options: .atomic)
        print(String(decoding: try enc.encode(valReport), as: UTF8.self))
    }
}
