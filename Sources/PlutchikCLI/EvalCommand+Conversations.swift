import Contracts
import Emotion
import Encoder
import Foundation
import Training

extension EvalCommand {
    /// The figures of every `*.jsonl` file in `directory` (in name order): each file's turns scored
    /// in dialogue order with context, as the stream does, and each turn alone.
    func evaluateConversations(_ directory: String, model: EmotionHeads, embedder: TextEmbedder) throws -> [ConversationReport] {
        let dir = URL(fileURLWithPath: directory)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jsonl") }.sorted() } catch {
            throw ModelError(.fileNotFound, "cannot list \(dir.path)", cause: error)
        }
        guard !names.isEmpty else { throw ModelError(.fileNotFound, "\(dir.path) has no *.jsonl files") }
        var shift: (EmotionPrediction) -> EmotionPrediction = { $0 }
        if let rate = neutralBaseRate {
            guard let calibrated = model.neutralBaseRate else {
                throw ModelError(.invalidFile, "heads \(model.manifest.version) record no calibrated neutral base rate (neutral_base_rate) to move from")
            }
            shift = { $0.shiftingNeutralPrior(from: calibrated, to: rate, threshold: model.neutralThreshold) }
        }
        return try names.map { name in
            let turns = try ConversationTurn.load(dir.appendingPathComponent(name))
            let vectors = try embedder.embed(turns.map(\.text), layers: model.encoderLayers) { done, total in
                if done == total || done % 2048 < 32 { printError("\(name): encoding turns \(done)/\(total)") }
            }
            let withContext = model.predictDialogues(turns.map { ($0.dialogueID, $0.speaker, $0.text) }, embeddings: vectors).map(shift)
            // Each turn a dialogue of its own: no context.
            let alone = model.predictDialogues(turns.enumerated().map { ("\($0)", $1.speaker, $1.text) }, embeddings: vectors).map(shift)
            var report = ConversationReport(file: name, turns: turns, withContext: withContext, turnAlone: alone, resamples: bootstrap)
            if faithfulness > 0 {
                var contexts: [String: DialogueContext] = [:]
                let inputs = model.nextInputs(zip(turns, vectors).map { (key: $0.dialogueID, vector: $1, text: $0.text, speaker: $0.speaker) },
                                              contexts: &contexts)
                report.faithfulness = try ConversationReport.Faithfulness(heads: model, inputs: inputs, turns: faithfulness,
                                                                          minimumWords: faithfulnessMinWords) {
                    // The texts with words deleted are made up for this measurement: kept out of the cache.
                    try embedder.embed($0, layers: model.encoderLayers, caching: false)
                }
            }
            return report
        }
    }

    /// The conversation figures as aligned text lines.
    static func describe(_ reports: [ConversationReport]) -> String {
        let f = { (v: Float?) in v.map { String(format: "%.3f", $0) } ?? "-" }
        let ci = { (r: ClosedRange<Float>?) in r.map { String(format: " [%.3f, %.3f]", $0.lowerBound, $0.upperBound) } ?? "" }
        var lines: [String] = []
        for r in reports {
            lines.append("\(r.file): \(r.dialogues) dialogues, \(r.turns) turns, \(f(r.goldNeutralShare)) gold neutral"
                         + (r.withContext.intervals.map { "; 95 % intervals from \($0.resamples) resamples of the dialogues" } ?? ""))
            for (name, s) in [("with context", r.withContext), ("turn alone  ", r.turnAlone)] {
                let i = s.intervals
                lines.append("  \(name)  weighted-F1 \(f(s.weightedF1))\(ci(i?.weightedF1))   micro-F1 w/o neutral \(f(s.microF1))\(ci(i?.microF1))"
                             + "   neutral AUROC \(f(s.neutralAUROC))\(ci(i?.neutralAUROC))   predicted neutral \(f(s.predictedNeutralShare))")
            }
            if let e = r.faithfulness {
                lines.append("  explanations on \(e.turns) turns of \(e.minimumWords)+ words (p of the label \(f(e.probability)); \(e.tiedTurns) with all words tied): "
                             + "comprehensiveness top \(e.k) \(f(e.comprehensiveness)) against \(e.k) random \(f(e.comprehensivenessRandom))"
                             + " (×\(String(format: "%.1f", e.comprehensiveness / e.comprehensivenessRandom)));"
                             + " sufficiency top \(e.k) \(f(e.sufficiency)) against \(e.k) random \(f(e.sufficiencyRandom))")
            }
        }
        return lines.joined(separator: "\n")
    }
}
