import ArgumentParser
import Contracts
import Encoder
import Escalation
import Foundation
import Training

/// `plutchik eval-escalation`: the escalation metrics alone, where `plutchik eval` cannot give them:
/// with oracle inputs (the annotated emotions, an upper bound for perfect heads) and on an
/// unlabelled corpus with real timestamps distilled by the heads (the real-timing slice).
struct EvalEscalationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-escalation",
        abstract: "Next-2-turns escalation AUROC/PR-AUC of the ODE forecaster, the GRU baseline and persistence.",
        discussion: """
            --data FILE (labelled, dataset format): inputs are the heads' predictions (--inputs heads, as \
            `plutchik eval`) or the annotated emotions (--inputs labels, oracle); gaps are synthesised with \
            --gap-seed. --corpus FILE (timestamped, unlabelled; Deploy/fetch-corpus.sh format): the heads \
            label and feed every turn (distillation) and the real timestamps are used; --corpus-slice holdout \
            scores only the dialogues train-escalation held out (--corpus-holdout-percent). With --json, \
            prints one object with escalation_auroc, escalation_pr_auc, escalation_auroc_persistence, \
            escalation_auroc_gru and the companion fields.
            """
    )

    enum Inputs: String, ExpressibleByArgument { case heads, labels }
    enum Slice: String, ExpressibleByArgument { case holdout, all }

    @Option(help: "Labelled dialogues (JSONL, dataset format).")
    var data: String?
    @Option(help: "Timestamped unlabelled corpus (JSONL: dialogue_id, turn_id, speaker, ts, text).")
    var corpus: String?
    @Option(help: "Forecaster inputs for --data: heads (end to end) or labels (oracle).")
    var inputs: Inputs = .heads
    @Option(help: "Which corpus dialogues to score: the training hold-out slice or all.")
    var corpusSlice: Slice = .holdout
    @Option(help: "Percent of corpus dialogues held out of training (must match train-escalation).")
    var corpusHoldoutPercent = 20
    @Option(help: "Model directory (weights.json, gru.json, manifest.json); default Models/escalation next to the heads.")
    var model: String?
    @Option(help: "Seed of the synthetic gaps.")
    var gapSeed: UInt64 = 0
    @Flag(help: "Print one JSON object on stdout.")
    var json = false
    @OptionGroup var heads: HeadsOptions

    func validate() throws {
        guard (data == nil) != (corpus == nil) else { throw ValidationError("give exactly one of --data and --corpus") }
    }

    func run() throws {
        let dir = try EscalationSupport.modelDirectory(model, heads: heads)
        let models = try EscalationSupport.load(dir)
        let dialogues: [EscalationDialogue]
        if let data {
            let turns = try LabelledTurn.load(URL(fileURLWithPath: data))
            var predicted: [EmotionPrediction]?
            if inputs == .heads {
                let headsModel = try heads.loadHeads()
                let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: headsModel.encoderAdapterDirectory,
                                                cacheDirectory: HeadsOptions.cacheDirectory)
                predicted = try EscalationSupport.predictions(turns, heads: headsModel, embedder: embedder)
            }
            dialogues = EscalationDialogue.labelled(turns, inputs: predicted, seed: gapSeed)
        } else {
            let headsModel = try heads.loadHeads()
            let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: headsModel.encoderAdapterDirectory,
                                            cacheDirectory: HeadsOptions.cacheDirectory)
            let all = try EscalationSupport.distilledCorpus(URL(fileURLWithPath: corpus!), heads: headsModel, embedder: embedder)
            dialogues = corpusSlice == .all ? all : EscalationSupport.split(all, holdoutPercent: corpusHoldoutPercent).holdout
        }
        let r = try EscalationReport.evaluate(dialogues, forecaster: models.ode, gru: models.gru)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
        } else {
            print(EscalationSupport.table(r, title: data != nil ? "\(inputs.rawValue) inputs" : "real timing (\(corpusSlice.rawValue))"))
        }
    }
}
