import ArgumentParser
import Contracts
import Emotion
import Encoder
import Escalation
import Foundation
import Training

/// What `eval`, `eval-escalation` and `train-escalation` share: finding and loading the escalation
/// models, running the heads end to end to get the forecaster's inputs, and the distilled
/// real-timing corpus.
enum EscalationSupport {
    /// The salt of the hash that holds a slice of the real-timing corpus out of training.
    static let corpusSalt = "real-timing-holdout:"

    /// `explicit`, else `Models/escalation` next to the heads' directory.
    static func modelDirectory(_ explicit: String?, heads: HeadsOptions) throws -> URL {
        if let explicit { return URL(fileURLWithPath: explicit) }
        return try heads.headsDirectory().deletingLastPathComponent().appendingPathComponent("escalation")
    }

    /// The ODE forecaster and, when the directory has `gru.json`, the discrete GRU baseline.
    static func load(_ dir: URL) throws -> (ode: EscalationForecaster, gru: EscalationForecaster?) {
        let ode = try EscalationForecaster(directory: dir)
        let gru = FileManager.default.fileExists(atPath: dir.appendingPathComponent("gru.json").path)
            ? try EscalationForecaster(directory: dir, file: "gru.json") : nil
        return (ode, gru)
    }

    /// The heads' predictions of labelled turns (in dialogue order, with context, as the stream
    /// and `plutchik eval` see them).
    static func predictions(_ turns: [LabelledTurn], heads: EmotionHeads, embedder: TextEmbedder) throws -> [EmotionPrediction] {
        let e = try embedder.embed(turns.map(\.text), layers: heads.encoderLayers)
        return heads.predictDialogues(turns.map { ($0.dialogueID, $0.speaker, $0.text) }, embeddings: e)
    }

    /// A timestamped corpus distilled by the heads (teacher): every turn's prediction is the
    /// forecaster's input and its top class the label source. Dialogues with fewer than 2 turns
    /// are dropped.
    static func distilledCorpus(_ url: URL, heads: EmotionHeads, embedder: TextEmbedder) throws -> [EscalationDialogue] {
        try predicted(CorpusTurn.load(url), what: "corpus", heads: heads, embedder: embedder).filter { $0.turns.count > 1 }
    }

    /// Derailment conversations (JSONL turns with `derails`), every turn's input the heads'
    /// prediction in dialogue order with context; labelled by their outcome. One-comment
    /// conversations are kept: the forecast after their only comment is judged.
    static func derailment(_ url: URL, heads: EmotionHeads, embedder: TextEmbedder) throws -> [EscalationDialogue] {
        let turns = try CorpusTurn.load(url)
        guard turns.allSatisfy({ $0.derails != nil }) else {
            throw ModelError(.invalidInput, "\(url.path): every turn needs \"derails\" (true or false): not derailment data")
        }
        return try predicted(turns, what: "derailment conversations", heads: heads, embedder: embedder)
    }

    /// The dialogues of `turns` with the heads' predictions, in dialogue order with context, as inputs.
    private static func predicted(_ turns: [CorpusTurn], what: String, heads: EmotionHeads, embedder: TextEmbedder) throws -> [EscalationDialogue] {
        let e = try embedder.embed(turns.map(\.text), layers: heads.encoderLayers) { done, total in
            if done == total || done % 2048 < 32 { printError("encoding \(what): \(done)/\(total) new texts") }
        }
        let p = heads.predictDialogues(turns.map { ($0.dialogueID, $0.speaker, $0.text) }, embeddings: e)
        return EscalationDialogue.distilled(turns, predictions: p)
    }

    /// Splits a distilled corpus into (train, held-out) by a salted hash of the dialogue id.
    static func split(_ corpus: [EscalationDialogue], holdoutPercent: Int) -> (train: [EscalationDialogue], holdout: [EscalationDialogue]) {
        let held = corpus.map { EscalationDialogue.inSlice($0.id, percent: holdoutPercent, salt: corpusSalt) }
        return (zip(corpus, held).filter { !$1 }.map(\.0), zip(corpus, held).filter { $1 }.map(\.0))
    }

    static func table(_ r: EscalationReport, title: String) -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "n/a" }
        return """
            \(title): \(r.dialogues) dialogues, \(r.turns) scored turns, \(r.positives) positive (next 2 turns escalate)
                          AUROC   PR-AUC
            ODE-RNN       \(f(r.auroc))   \(f(r.prAUC))
            GRU           \(f(r.aurocGRU))   \(f(r.prAUCGRU))
            persistence   \(f(r.aurocPersistence))   \(f(r.prAUCPersistence))
            horizon AUROC (ODE) \(f(r.horizonAUROC)); alerts \(r.alerts) over \(r.escalatingDialogues) escalating dialogues
            """
    }

    static func table(_ a: EscalationAlertReport, title: String) -> String {
        func f(_ x: Double?, _ d: Int = 3) -> String { x.map { String(format: "%.\(d)f", $0) } ?? "n/a" }
        let alarm = a.alarm.map { String(format: " (alarm %.2f/%.2f)", $0.upper, $0.lower) } ?? " (thresholds chosen on the other folds)"
        return "\(title)\(alarm): \(a.dialogues) dialogues, \(a.escalatingDialogues) escalating; precision \(f(a.precision)), recall \(f(a.recall)) (\(a.caught) caught), false alerts per 100 calm \(f(a.falseAlertsPer100Calm, 1)), median lead \(f(a.medianLeadTurns, 1)) turns / \(f(a.medianLeadSeconds, 0)) s"
    }

    static func table(_ cv: EscalationCrossValidationReport) -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "n/a" }
        var lines = ["cross-validation, \(cv.folds) folds (out of fold):"]
        if let d = cv.derailment {
            lines.append("derailment: \(d.conversations) conversations, \(d.derailing) derailing; risk after the last comment: AUROC ODE \(f(d.auroc)) GRU \(f(d.aurocGRU)), accuracy at 0.5 ODE \(f(d.accuracy)) GRU \(f(d.accuracyGRU))")
        }
        if let s = cv.seed { lines.append(table(s, title: "seed training dialogues")) }
        if let a = cv.seedAlerts { lines.append(table(a, title: "seed alerts")) }
        if let a = cv.derailmentAlerts { lines.append(table(a, title: "derailment alerts")) }
        lines.append(String(format: "alarm chosen on all folds: %.2f/%.2f", cv.chosenAlarm.upper, cv.chosenAlarm.lower))
        return lines.joined(separator: "\n")
    }
}
