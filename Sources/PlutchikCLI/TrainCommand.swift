import ArgumentParser
import Contracts
import Emotion
import Encoder
import Foundation
import Training

/// `plutchik train`: trains the emotion, sarcasm and intensity heads and writes weights plus manifest.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the emotion/sarcasm/intensity heads on labelled JSONL (embeddings cached in ~/.cache/plutchik).")

    @Option(name: .long, help: "Training JSONL (dataset format).") var train: String
    @Option(name: .long, help: "Validation JSONL, for early stopping.") var val: String
    @Option(name: .long, help: "Output directory for the weights (heads.f32, or heads.f16 with --half-precision) and manifest.json.") var out: String
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 42
    @Option(name: .long, help: "Hidden units.") var hidden: Int = 128
    @Option(name: .long, help: "Maximum epochs.") var epochs: Int = 150
    @Option(name: .long, help: "Chance of showing a training turn with its emoji stripped.") var textOnlyProbability: Float = 0.3
    @Option(name: .long, help: "Factor on embeddings in the input vector.") var embeddingScale: Float = 0.5
    @Option(name: .long, help: "AdamW weight decay.") var weightDecay: Float = 1e-4
    @Option(name: .long, help: "Hidden-layer dropout.") var dropout: Float = 0.5
    @Option(name: .long, help: "Class-weight exponent (0 = unweighted, 1 = inverse frequency).") var classWeightPower: Float = 1
    @Option(name: .long, parsing: .upToNextOption, help: "Encoder layers (0-6) whose mean-pooled hidden states are extra features of the current turn.")
    var layers: [Int] = []
    @Option(name: .long, help: "Factor on the standardised layer features.") var layerScale: Float = 0.5
    @Option(name: .long, help: "Chance a training turn's layer features are dropped whole.") var layerDropout: Float = 0
    @Option(name: .long, help: "Add a word-channel head over words in at least this many training texts, fused into the emotion logits of turns without emoji (0: none).")
    var lexicalMinCount: Int = 0
    @Option(name: .long, help: "The word-channel head's L2 penalty.") var lexicalL2: Float = 5e-5
    @Option(name: .long, help: "Train this many heads (seeds seed, seed+1, ...) and average their logits as one network.")
    var ensemble: Int = 1
    @Option(name: .long, help: "Extra ensemble members trained without layer features (seeds after the others).")
    var plainMembers: Int = 0
    @Option(name: .long, help: "Weight of each plain member in the ensemble (the others weigh 1).")
    var plainWeight: Float = 1
    @Flag(name: .long, help: "With plain members: turns with emoji use the plain members, turns without the layer-feature ones (each side averaged).")
    var route = false
    @Option(name: .long, parsing: .upToNextOption,
            help: "With --route, train the routed members for their own turns: 'text' shows the layer-feature members only emoji-stripped turns and selects their epoch on text-only macro-F1; 'emoji' shows the plain members turns as they are and selects on macro-F1 over the val turns with emoji.")
    var specialise: [RoutedMember] = []
    @Flag(name: .long, help: "Store the heads' weights as half floats (heads.f16, half the size), re-evaluated after rounding.")
    var halfPrecision = false
    @Option(name: .long, parsing: .upToNextOption,
            help: "Train each member for exactly this many epochs (layer-feature members, then plain ones) instead of early-stopping on val.")
    var memberEpochs: [Int] = []
    @Option(name: .long, help: "The word channel's fusion weight (default: chosen on val).") var lexicalWeight: Float?
    @Flag(name: .long, help: "After training as usual, train the same members again on train + val for the epochs selected, and ship those weights (the manifest's val figures stay the train-only fit's).")
    var refit = false
    @Option(name: .long, help: "With --refit: estimate the refit on val by K-fold cross-validation over val's dialogues (each fold scored by the recipe refit on train + the other folds; K more refits), noted in the manifest (0: none).")
    var crossValidate: Int = 0
    @Option(name: .long, help: "Real comments to train on beside the turns (GoEmotions JSONL mapped onto the wheel: class, sector, neutral).")
    var goemotionsTrain: String?
    @Option(name: .long, help: "Real comments to select epochs on and to calibrate the neutral gate with (GoEmotions dev JSONL); needed with --goemotions-train.")
    var goemotionsDev: String?
    @Option(name: .long, help: "Choose epochs and weights and calibrate the gate on this half of --val and --goemotions-dev only (select), so the other half (report) chose nothing; recorded in the manifest (default: the whole files).")
    var devHalf: DevelopmentHalf?
    @Option(name: .long, help: "A chat corpus (turn JSONL, e.g. Deploy/fetch-corpus.sh's) whose conversations comments are placed after (--comment-context-probability), so the context features see real conversation structure.")
    var contextConversations: String?
    @Option(name: .long, help: "With --context-conversations: read at most this many of its turns.") var contextConversationTurns = 8_000
    @Option(name: .long, help: "With --context-conversations: the chance a comment is shown after a stretch of one of them instead of alone.")
    var commentContextProbability: Float = 0.5
    @Flag(inversion: .prefixedNo, help: "Whether the labelled turns (all emotional) train the neutral gate; without, only the comments do, so context cannot read as emotion.")
    var turnGateLoss = true
    @Option(name: .long, help: "The comments' share of the training loss (the turns have the rest).") var commentShare: Float = 0.5
    @Option(name: .long, help: "Comments drawn into each epoch beside every turn (default: 4 × the turns).") var commentsPerEpoch: Int?
    @Option(name: .long, help: "Class-weight exponent within the comments.") var commentClassWeightPower: Float = 0.5
    @Option(name: .long, help: "The comments' share of the epoch selection score (the turns' score has the rest).") var commentSelectionShare: Float = 0.5
    @Option(name: .long, help: "The neutral gate's threshold on its calibrated probability.") var neutralThreshold: Float = 0.5
    @Option(name: .long, help: "Weight of the neutral gate's loss on each comment.") var neutralWeight: Float = 1
    @Option(name: .long, help: "A fine-tuned encoder adapter (`plutchik finetune`'s output directory): the heads are trained on its embeddings, and it is copied into OUT/encoder, where every command that loads the heads finds it.")
    var adapter: String?
    @Option(name: .long, help: "Routing gate: larger than any hidden pre-activation.") var gate: Float = 100
    @Option(name: .long, help: "Model version recorded in the manifest and in events.") var version: String = "heads-1"
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        let members = max(1, ensemble) + plainMembers
        if !memberEpochs.isEmpty && (memberEpochs.count != members || memberEpochs.contains { $0 < 1 } || refit) {
            throw ValidationError("--member-epochs needs one positive count per member (\(members) here: --ensemble, then --plain-members) and no --refit")
        }
        if crossValidate != 0 && (crossValidate < 2 || !refit) {
            throw ValidationError("--cross-validate needs --refit and at least 2 folds")
        }
        if (goemotionsTrain == nil) != (goemotionsDev == nil) {
            throw ValidationError("--goemotions-train and --goemotions-dev go together: the dev comments select the epochs and calibrate the neutral gate")
        }
        if !(0...1).contains(commentShare) || !(0...1).contains(commentSelectionShare) || !(0.01...0.99).contains(neutralThreshold) || neutralWeight < 0 {
            throw ValidationError("--comment-share and --comment-selection-share must be in 0...1, --neutral-threshold in 0.01...0.99, --neutral-weight at least 0")
        }
    }

    func run() throws {
        _ = try logging.makeLogger(label: "plutchik.train")
        let trainURL = URL(fileURLWithPath: train), valURL = URL(fileURLWithPath: val)
        let trainTurns = try LabelledTurn.load(trainURL), valTurns = try LabelledTurn.load(valURL)
        if refit, let shared = Set(trainTurns.map(\.dialogueID)).intersection(valTurns.map(\.dialogueID)).sorted().first {
            throw ValidationError("--refit trains on train + val, but they share dialogue ids (e.g. \(shared)), whose turns would join one dialogue")
        }
        let adapterURL = adapter.map { URL(fileURLWithPath: $0) }
        let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: adapterURL, cacheDirectory: HeadsOptions.cacheDirectory)
        let loader = TrainingDataLoader(embedder: embedder, layers: layers)
        var trainData = try loader.adding(comments: goemotionsTrain, to: try loader.data(trainTurns, "train"), "train")
        if let contextConversations { trainData.conversations = try loader.conversations(contextConversations, limit: contextConversationTurns) }
        let allVal = try loader.adding(comments: goemotionsDev, to: try loader.data(valTurns, "val"), "dev")
        let valData = devHalf.map(allVal.keeping) ?? allVal
        var cf = HeadsTrainingConfiguration()
        cf.seed = seed; cf.hidden = hidden; cf.maxEpochs = epochs; cf.textOnlyProbability = textOnlyProbability
        cf.embeddingScale = embeddingScale; cf.weightDecay = weightDecay; cf.dropout = dropout; cf.classWeightPower = classWeightPower
        cf.encoderLayers = layers; cf.layerFeatureScale = layerScale; cf.layerDropout = layerDropout
        cf.commentShare = commentShare; cf.commentsPerEpoch = commentsPerEpoch; cf.commentClassWeightPower = commentClassWeightPower
        cf.neutralWeight = neutralWeight
        cf.turnGateLoss = turnGateLoss
        cf.commentContextProbability = contextConversations == nil ? 0 : commentContextProbability
        cf.commentSelectionShare = commentSelectionShare
        if route && specialise.contains(.text) { cf.textOnlyProbability = 1; cf.selectionWeight = 0 }
        let provenance = HeadsProvenance(
            version: version, trainingDataSHA256: try SHA256.hex(fileAt: trainURL),
            validationDataSHA256: try SHA256.hex(fileAt: valURL), encoderSHA256: embedder.modelSHA256 ?? "")
        // Each member's configuration: the layer-feature members, then the plain ones.
        var configurations: [(label: String, cf: HeadsTrainingConfiguration, weight: Float)] = []
        for k in 0..<max(1, ensemble) {
            cf.seed = seed &+ UInt64(k)
            configurations.append(("seed", cf, 1))
        }
        for k in 0..<plainMembers {
            var pcf = cf
            pcf.encoderLayers = []
            if route && specialise.contains(.emoji) { pcf.textOnlyProbability = 0; pcf.selectionTurns = .withEmoji }
            else { pcf.textOnlyProbability = textOnlyProbability; pcf.selectionWeight = 0.5 }
            pcf.seed = seed &+ UInt64(max(1, ensemble) + k)
            if k == 0 && layers.isEmpty == false { pcf.seed = seed }
            configurations.append(("plain seed", pcf, plainWeight))
        }
        /// The members trained on `data` (early-stopped on val, or for `epochs[k]` epochs each),
        /// combined as one network, with the word channel (its fusion weight chosen on val, or given).
        func fit(_ data: HeadsTrainingData, epochs: [Int]? = nil, lexicalWeight: Float? = nil) -> (heads: EmotionHeads, epochs: [Int]) {
            var members: [EmotionHeads] = []
            for (k, c) in configurations.enumerated() {
                var mcf = c.cf
                mcf.fixedEpochs = epochs?[k]
                let m = HeadsTrainer.train(train: data, val: valData, provenance: provenance, configuration: mcf) { printError($0) }
                let v = m.manifest.validation
                printError(String(format: "%@ %llu: best epoch %d, val macro-F1 %.3f, text-only %.3f", c.label, mcf.seed, m.manifest.bestEpoch,
                                  v.emotionMacroF1 ?? 0, v.emotionMacroF1TextOnly ?? 0))
                members.append(m)
            }
            var heads: EmotionHeads
            if route && plainMembers >= 1 && members.count > plainMembers {
                func averaged(_ m: ArraySlice<EmotionHeads>) -> EmotionHeads { m.count == 1 ? m.first! : HeadsTrainer.ensemble(Array(m), val: valData) }
                let split = members.count - plainMembers
                heads = HeadsTrainer.route(emoji: averaged(members[split...]), text: averaged(members[..<split]), val: valData, gate: gate)
            } else {
                heads = members.count == 1 ? members[0] : HeadsTrainer.ensemble(members, weights: configurations.map(\.weight), val: valData)
            }
            if lexicalMinCount > 0 {
                heads = HeadsTrainer.addLexicalHead(to: heads, train: data, val: valData, minCount: lexicalMinCount, l2: lexicalL2,
                                                    fusionWeight: lexicalWeight) { printError($0) }
            }
            if !valData.comments.isEmpty { heads = HeadsTrainer.calibratingNeutral(heads, val: valData, threshold: neutralThreshold) }
            if halfPrecision { heads = HeadsTrainer.storedInHalfPrecision(heads, val: valData) }
            return (heads, members.map(\.manifest.bestEpoch))
        }
        let selection = fit(trainData, epochs: memberEpochs.isEmpty ? nil : memberEpochs, lexicalWeight: lexicalWeight)
        var trained = selection.heads
        let epochs = selection.epochs
        if refit {
            // The val turns join the training data; the dev comments stay out (they select and calibrate).
            let all = trainData.appending(valData.subset(Array(valData.turns.indices)))
            printError("refit on train + val (\(all.turns.count) turns), member epochs \(epochs.map(String.init).joined(separator: ","))")
            let weight = trained.manifest.lexicalHead?.fusionWeight
            let refitted = fit(all, epochs: epochs, lexicalWeight: weight).heads
            var crossValidation: (EvaluationReport, Int)?
            if crossValidate > 1 {
                let r = HeadsTrainer.crossValidatedRefit(train: trainData, val: valData, folds: crossValidate, fit: {
                    fit($0, epochs: epochs, lexicalWeight: weight).heads
                }, progress: printError)
                printError(String(format: "refit cross-validated on val: macro-F1 %.4f, text-only %.4f, sarcasm F1 %.4f",
                                  r.emotionMacroF1 ?? 0, r.emotionMacroF1TextOnly ?? 0, r.sarcasmF1 ?? 0))
                crossValidation = (r, crossValidate)
            }
            trained = HeadsTrainer.refitted(refitted, selected: trained, memberEpochs: epochs, turns: all.turns.count,
                                            crossValidation: crossValidation)
        }
        var manifest = trained.manifest
        try manifest.record(goEmotionsTrain: goemotionsTrain, goEmotionsDev: goemotionsDev, selectionHalf: devHalf)
        trained = trained.describing(manifest)
        try trained.save(to: URL(fileURLWithPath: out))
        if let adapterURL { try Self.attach(adapter: adapterURL, toHeadsIn: URL(fileURLWithPath: out)) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print(String(decoding: try enc.encode(trained.manifest.validation), as: UTF8.self))
        printError("best epoch \(trained.manifest.bestEpoch); wrote \(out)/manifest.json and \(out)/\(trained.manifest.weightsFile)")
    }
}

extension TrainCommand {
    /// Copies the adapter (its `adapter.safetensors` and `manifest.json`) into `heads/encoder` and
    /// records its SHA-256 in the heads' manifest, so loading the heads loads the encoder they read.
    static func attach(adapter: URL, toHeadsIn heads: URL) throws {
        let fm = FileManager.default, target = heads.appendingPathComponent("encoder")
        try? fm.removeItem(at: target)
        try fm.createDirectory(at: target, withIntermediateDirectories: true)
        for name in ["adapter.safetensors", "manifest.json"] {
            try fm.copyItem(at: adapter.appendingPathComponent(name), to: target.appendingPathComponent(name))
        }
        let url = heads.appendingPathComponent("manifest.json")
        var manifest = try JSONDecoder().decode(HeadsManifest.self, from: Data(contentsOf: url))
        manifest.encoderAdapterSHA256 = try SHA256.hex(fileAt: target.appendingPathComponent("adapter.safetensors"))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try enc.encode(manifest).write(to: url)
    }
}

/// The members of a routed head (`plutchik train --route --specialise`).
enum RoutedMember: String, ExpressibleByArgument, CaseIterable {
    case text, emoji
}
