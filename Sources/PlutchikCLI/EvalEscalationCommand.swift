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
            scores only the dialogues train-escalation held out (--corpus-holdout-percent). --derailment FILE \
            (real conversations with "derails"): the risk after the last comment shown ranks derailing against \
            civil conversations (AUROC, accuracy at risk ≥ 0.5). Every mode also judges the alerts per dialogue \
            with the model's alarm: precision, recall, false alerts per 100 calm dialogues, median lead in turns \
            and seconds; and reports AUROC by the gap before the turn and the horizon risk's reliability table. \
            With --json, prints one object with escalation_auroc, escalation_pr_auc, escalation_auroc_persistence, \
            escalation_auroc_gru and the companion fields, `alerts`, and `derailment` for --derailment.
            """
    )

    enum Inputs: String, ExpressibleByArgument { case heads, labels }
    enum Slice: String, ExpressibleByArgument { case holdout, all }

    @Option(help: "Labelled dialogues (JSONL, dataset format).")
    var data: String?
    @Option(help: "Timestamped unlabelled corpus (JSONL: dialogue_id, turn_id, speaker, ts, text).")
    var corpus: String?
    @Option(help: "Derailment conversations (JSONL turns with \"derails\"), judged after their last comment.")
    var derailment: String?
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
        guard [data, corpus, derailment].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --data, --corpus and --derailment")
        }
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
        } else if let derailment {
            let headsModel = try heads.loadHeads()
            let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: headsModel.encoderAdapterDirectory,
                                            cacheDirectory: HeadsOptions.cacheDirectory)
            dialogues = try EscalationSupport.derailment(URL(fileURLWithPath: derailment), heads: headsModel, embedder: embedder)
        } else {
            let headsModel = try heads.loadHeads()
            let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: headsModel.encoderAdapterDirectory,
                                            cacheDirectory: HeadsOptions.cacheDirectory)
            let all = try EscalationSupport.distilledCorpus(URL(fileURLWithPath: corpus!), heads: headsModel, embedder: embedder)
            dialogues = corpusSlice == .all ? all : EscalationSupport.split(all, holdoutPercent: corpusHoldoutPercent).holdout
        }
        let series = try EscalationSeries(dialogues, forecaster: models.ode, gru: models.gru)
        var r = EscalationReport(dialogues, series: series)
        let alerts = EscalationAlertReport(risks: series.risk, dialogues: dialogues, alarm: models.ode.alarm)
        r.alerts = series.alerts(models.ode.alarm)
        let derailed = derailment == nil ? nil : EscalationCrossValidationReport.DerailmentFigures(dialogues, series: series)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            var object = try JSONSerialization.jsonObject(with: enc.encode(r)) as! [String: Any]
            object["alerts"] = try JSONSerialization.jsonObject(with: enc.encode(alerts))
            if let derailed { object["derailment"] = try JSONSerialization.jsonObject(with: enc.encode(derailed)) }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            let title = data != nil ? "\(inputs.rawValue) inputs" : derailment != nil ? "derailment conversations" : "real timing (\(corpusSlice.rawValue))"
            print(EscalationSupport.table(r, title: title))
            print(EscalationSupport.table(alerts, title: "alerts"))
            if let d = derailed {
                print(String(format: "derailment: %d conversations, %d derailing; risk after the last comment: AUROC %.3f (GRU %.3f), accuracy at 0.5 %.3f (GRU %.3f)",
                             d.conversations, d.derailing, d.auroc ?? .nan, d.aurocGRU ?? .nan, d.accuracy, d.accuracyGRU ?? .nan))
            }
            let bands = EscalationReport.gapBands.map(\.0).compactMap { b in r.aurocByGap?[b].map { String(format: "%@ %.3f", b, $0) } }
            print("AUROC by the gap before the turn: " + bands.joined(separator: ", "))
            print("horizon risk reliability (predicted → observed, turns): " + (r.horizonReliability ?? []).map {
                String(format: "%.2f → %.2f (%d)", $0.predicted, $0.observed, $0.count) }.joined(separator: ", "))
        }
    }
}
