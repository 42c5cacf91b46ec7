import ArgumentParser
import Contracts
import Emotion
import Encoder
import Foundation
import Training

/// `plutchik train-embedding-head`: adds a linear head over the sentence embedding to trained heads.
struct TrainEmbeddingHeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-embedding-head",
        abstract: "Add a linear head over the embedding (32 classes, 8 sectors, neutral) to trained heads, fused for turns without emoji.",
        discussion: """
            Reads the heads in --heads-dir and the encoder they were trained on, fits L2-regularised \
            logistic regression on the embeddings of the seed turns (class; as given and emoji-stripped) \
            and of the GoEmotions comments (class, sector, neutral), Platt-scales its neutral logit on \
            the dev comments without emoji, chooses the class and sector fusion weights on val and dev \
            (the score the heads' epochs are chosen by), one pair for a dialogue's first turn (every \
            single message) and one for the turns after it, and writes the heads with it to --out \
            (embedding.f32, manifest.json; the network, word channel and encoder are copied).
            """)

    @Option(name: .long, help: "Labelled training JSONL (the seed dialogues).") var train: String
    @Option(name: .long, help: "Labelled validation JSONL (chooses the fusion weights with the dev comments).") var val: String
    @Option(name: .long, help: "GoEmotions train JSONL (mapped onto the wheel).") var goemotionsTrain: String
    @Option(name: .long, help: "GoEmotions dev JSONL: calibrates the gate and chooses the fusion weights.") var goemotionsDev: String
    @Option(name: .long, help: "Calibrate and choose on this half of --val and --goemotions-dev only (select), so the other half (report) chose nothing (default: the heads' own selection half, else the whole files).")
    var devHalf: DevelopmentHalf?
    @Option(name: .long, help: "L2 penalty on the standardised class and sector weights.") var l2: Float = 1e-3
    @Option(name: .long, help: "L2 penalty on the standardised neutral-gate weights.") var neutralL2: Float = 0.05
    @Option(name: .long, help: "Full-batch Adam iterations.") var iterations: Int = 300
    @Option(name: .long, help: "Weight of each seed turn in the class loss (a comment weighs 1).") var turnWeight: Float = 1
    @Option(name: .long, help: "A chat corpus (turn JSONL, e.g. Deploy/fetch-corpus.sh's): first refit the heads' own neutral gate on the train comments alone and placed after real conversation turns from it, the seed turns left out, so context does not read as emotion (HeadsTrainer.refittingGateInDialogue).")
    var gateConversations: String?
    @Option(name: .long, help: "With --gate-conversations: read at most this many of its turns.") var gateConversationTurns = 8_000
    @Option(name: .long, help: "With --gate-conversations: the L2 penalty of the refitted gate row (on standardised hidden activations).") var gateL2: Float = 1e-3
    @Option(name: .long, help: "Output directory (may be --heads-dir itself).") var out: String
    @Option(name: .long, help: "Model version recorded in the manifest and in events (default: the heads').") var version: String?
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard l2 >= 0, neutralL2 >= 0, iterations > 0, turnWeight > 0 else {
            throw ValidationError("--l2 and --neutral-l2 must be at least 0, --iterations and --turn-weight positive")
        }
    }

    func run() throws {
        _ = try logging.makeLogger(label: "plutchik.train-embedding-head")
        let source = try heads.headsDirectory()
        var model = try EmotionHeads(directory: source)
        let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: model.encoderAdapterDirectory,
                                        cacheDirectory: HeadsOptions.cacheDirectory)
        let loader = TrainingDataLoader(embedder: embedder, layers: model.encoderLayers)
        let trainData = try loader.adding(comments: goemotionsTrain, to: try loader.data(LabelledTurn.load(URL(fileURLWithPath: train)), "train"), "train")
        let half = devHalf ?? model.manifest.selectionHalf.flatMap(DevelopmentHalf.init(rawValue:))
        let allVal = try loader.adding(comments: goemotionsDev, to: try loader.data(LabelledTurn.load(URL(fileURLWithPath: val)), "val"), "dev")
        let valData = half.map(allVal.keeping) ?? allVal
        if let gateConversations {
            model = HeadsTrainer.refittingGateInDialogue(model, train: trainData, conversations: try loader.conversations(gateConversations, limit: gateConversationTurns),
                                                         l2: gateL2, progress: printError)
        }
        var trained = HeadsTrainer.addEmbeddingHead(to: model, train: trainData, val: valData, l2: l2, neutralL2: neutralL2, turnWeight: turnWeight, iterations: iterations,
                                                    version: version, progress: printError)
        var manifest = trained.manifest
        try manifest.record(goEmotionsTrain: goemotionsTrain, goEmotionsDev: goemotionsDev, selectionHalf: half)
        trained = trained.describing(manifest)
        let target = URL(fileURLWithPath: out)
        try trained.save(to: target)
        if let adapter = model.encoderAdapterDirectory, adapter.standardizedFileURL != target.appendingPathComponent("encoder").standardizedFileURL {
            try TrainCommand.attach(adapter: adapter, toHeadsIn: target)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print(String(decoding: try enc.encode(trained.manifest.validation), as: UTF8.self))
        printError("wrote \(out)/manifest.json and \(out)/embedding.f32")
    }
}
