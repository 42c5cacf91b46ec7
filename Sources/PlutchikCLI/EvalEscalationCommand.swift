import ArgumentParser
import EmotionModel
import Foundation

/// `plutchik eval-escalation`: escalation metrics of a trained model directory on a dialogue file.
struct EvalEscalationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-escalation",
        abstract: "Next-2-turns escalation AUROC/PR-AUC of the ODE forecaster, the GRU baseline and persistence.",
        discussion: """
            Inputs are the annotated emotions (oracle); gaps are synthesised with --gap-seed. With --json, \
            prints one object with escalation_auroc, escalation_pr_auc, escalation_auroc_persistence, \
            escalation_auroc_gru and the companion fields.
            """
    )

    @Option(help: "Dialogues (JSONL).")
    var data: String
    @Option(help: "Model directory (weights.json, gru.json, manifest.json).")
    var model: String = "Models/escalation"
    @Option(help: "Seed of the synthetic gaps.")
    var gapSeed: UInt64 = 0
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        let dir = URL(fileURLWithPath: model)
        let ode = try EscalationForecaster(directory: dir)
        let gru = try EscalationForecaster(directory: dir, file: "gru.json")
        let dialogues = try EscalationDialogue.load(URL(fileURLWithPath: data), seed: gapSeed)
        let r = try EscalationReport.evaluate(dialogues, forecaster: ode, gru: gru)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
        } else {
            func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "n/a" }
            print("\(r.dialogues) dialogues, \(r.turns) scored turns, \(r.positives) positive (next 2 turns escalate)")
            print("              AUROC   PR-AUC")
            print("ODE-RNN       \(f(r.auroc))   \(f(r.prAUC))")
            print("GRU           \(f(r.aurocGRU))   \(f(r.prAUCGRU))")
            print("persistence   \(f(r.aurocPersistence))   \(f(r.prAUCPersistence))")
            print("horizon \(Int(ode.horizonSeconds)) s AUROC (ODE): \(f(r.horizonAUROC)); alerts \(r.alerts) over \(r.escalatingDialogues) escalating dialogues")
        }
    }
}
