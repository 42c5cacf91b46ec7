import ArgumentParser
import Contracts
import Emotion
import Encoder
import Escalation
import Foundation
import Logging
import Training

/// `plutchik eval`: scores labelled JSONL in dialogue order with context and prints the metrics.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate the heads on labelled JSONL: emotion macro-F1/accuracy (as given and text-only), wheel error, sarcasm F1/AUROC, intensity MAE, and escalation AUROC/PR-AUC end to end.",
        discussion: """
            Escalation: the file's dialogues go through the heads (in dialogue order, with context) and \
            the heads' predictions feed the escalation forecaster (--escalation-dir, default Models/escalation \
            next to the heads), its GRU baseline and persistence; next-2-turns labels come from the \
            annotated emotions. Inter-turn gaps are synthesised (EscalationGaps, --gap-seed).
            """)

    @Option(name: .long, help: "Labelled JSONL (dataset format).") var data: String?
    @Option(name: .long, help: "Real comments (GoEmotions JSONL mapped onto the wheel): class macro-F1 over the 16 mapped classes, sector accuracy, neutral AUROC and the gate's precision/recall/calibration.")
    var goemotions: String?
    @Option(name: .long, help: "A directory of labelled conversations (*.jsonl: turns with `gold` in neutral, joy, surprise, anger, sadness, disgust, fear): per file weighted-F1 over the 7 labels, micro-F1 over the six emotions without neutral and neutral AUROC, with context and turn alone, with bootstrap intervals over the dialogues (JSON: conversations).")
    var conversations: String?
    @Option(name: .long, help: "With --conversations: measure the word explanations on this many turns of each file (ERASER: the predicted emotion's probability lost without the top 3 words, and kept by them alone, against 3 random words; JSON: conversations[].faithfulness); 0 skips it.")
    var faithfulness = 0
    @Option(name: .long, help: "With --faithfulness: draw the turns among those of at least this many words (at least 4).")
    var faithfulnessMinWords = 4
    @Option(name: .long, help: "Score only this half of --data's dialogues and --goemotions' comments (a fixed hash of their ids): 'report' is the half that chose nothing when the heads were trained with --dev-half select (their manifest's selection_half).")
    var devHalf: DevelopmentHalf?
    @Option(name: .long, help: "With --conversations: the share of turns expected to be neutral, as a tenant's neutral_base_rate sets it (the gate's probability moved from the heads' calibrated base rate to this one before the threshold; AUROC is unchanged, F1 and the predicted neutral share move).")
    var neutralBaseRate: Float?
    @Option(name: .long, help: "Resamples of the comments (of the dialogues for --conversations) for the 95 % bootstrap intervals of class macro-F1, sector accuracy and neutral AUROC (JSON: goemotions.intervals; conversations[].with_context.intervals); 0 skips them.")
    var bootstrap = 1000
    @Flag(name: .long, help: "Print one JSON object.") var json = false
    @Flag(name: .long, help: "Do not read or write the embedding cache.") var noCache = false
    @Option(name: .long, help: "Escalation model directory (weights.json, gru.json, manifest.json); default Models/escalation next to the heads.")
    var escalationDir: String?
    @Flag(name: .long, help: "Skip the escalation metrics.") var noEscalation = false
    @Option(name: .long, help: "Seed of the synthetic inter-turn gaps.") var gapSeed: UInt64 = 0
    @Flag(name: .long, help: "Also give each emotion's support, precision, recall and F1 (as given and text-only), and the accuracy on turns with and without emoji (JSON: per_class, emotion_accuracy_with_emoji, emotion_accuracy_without_emoji).")
    var perClass = false
    @OptionGroup var heads: HeadsOptions
    @OptionGroup var inference: InferenceOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if data == nil && goemotions == nil && conversations == nil {
            throw ValidationError("give --data (labelled dialogue turns), --goemotions (real comments), --conversations (a directory of labelled conversations), or several")
        }
        if let r = neutralBaseRate, !(r > 0 && r < 1) { throw ValidationError("--neutral-base-rate must lie strictly between 0 and 1, got \(r)") }
        if bootstrap < 0 { throw ValidationError("--bootstrap must be 0 (no intervals) or a number of resamples, got \(bootstrap)") }
    }

    func run() throws {
        let logger = try logging.makeLogger(label: "plutchik.eval")
        let model = try heads.loadHeads()
        let embedder = try TextEmbedder(modelDirectory: heads.modelDirectory, adapter: model.encoderAdapterDirectory,
                                        configuration: inference.configuration(batchSize: 32), cacheDirectory: noCache ? nil : HeadsOptions.cacheDirectory)
        var report = EvaluationReport(n: 0)
        if let data { report = try evaluateTurns(data, model: model, embedder: embedder, logger: logger) }
        if let goemotions {
            model.manifest.warnIfSeen(goemotions, hash: try SHA256.hex(fileAt: URL(fileURLWithPath: goemotions)), half: devHalf, logger: logger)
            let comments = try GoEmotionsComment.load(URL(fileURLWithPath: goemotions)).filter { c in devHalf.map { DevelopmentHalf(of: c.id) == $0 } ?? true }
            let vectors = try embedder.embed(comments.map(\.text), layers: model.encoderLayers) { done, total in
                if done == total || done % 2048 < 32 { printError("encoding comments: \(done)/\(total)") }
            }
            // Each comment is a dialogue of its own: no context.
            let predictions = model.predictDialogues(comments.map { ($0.id, "", $0.text) }, embeddings: vectors)
            report.goEmotions = GoEmotionsReport(predictions: predictions, comments: comments, neutralThreshold: model.neutralThreshold)
            if bootstrap > 0, !comments.isEmpty {
                report.goEmotions?.intervals = .init(bootstrapping: predictions, comments: comments, resamples: bootstrap)
            }
        }
        if let conversations { report.conversations = try evaluateConversations(conversations, model: model, embedder: embedder) }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            let text = Self.describe(report)
            if !text.isEmpty { print(text) }
            if let c = report.conversations { print(Self.describe(c)) }
        }
    }

    /// The dialogue-turn figures of `data`, in dialogue order with context, and the escalation figures.
    func evaluateTurns(_ data: String, model: EmotionHeads, embedder: TextEmbedder, logger: Logger) throws -> EvaluationReport {
        model.manifest.warnIfSeen(data, hash: try SHA256.hex(fileAt: URL(fileURLWithPath: data)), half: devHalf, logger: logger)
        let turns = try LabelledTurn.load(URL(fileURLWithPath: data)).filter { t in devHalf.map { DevelopmentHalf(of: t.dialogueID) == $0 } ?? true }
        let texts = turns.map(\.text), stripped = texts.map(EmojiFeatures.strip)
        let all = try embedder.embed(texts + stripped, layers: model.encoderLayers)
        let full = model.predictDialogues(turns.map { ($0.dialogueID, $0.speaker, $0.text) }, embeddings: Array(all[0..<turns.count]))
        let textOnly = model.predictDialogues(zip(turns, stripped).map { ($0.dialogueID, $0.speaker, $1) }, embeddings: Array(all[turns.count...]))
        var report = EvaluationReport.emotion(predictions: full, textOnly: textOnly, labels: turns.map(\.emotion), sarcasm: turns.map(\.sarcasm))
        if perClass { report.addBreakdown(predictions: full, textOnly: textOnly, labels: turns.map(\.emotion), texts: texts) }
        if !noEscalation {
            let dir = try EscalationSupport.modelDirectory(escalationDir, heads: heads)
            let models = try EscalationSupport.load(dir)
            let dialogues = EscalationDialogue.labelled(turns, inputs: full, seed: gapSeed)
            report.setEscalation(try EscalationReport.evaluate(dialogues, forecaster: models.ode, gru: models.gru))
        }
        return report
    }

    /// The report as aligned text lines.
    static func describe(_ report: EvaluationReport) -> String {
        let f = { (v: Float?) in v.map { String(format: "%.4f", $0) } ?? "-" }
        var lines: [String] = []
        if report.n > 0 {
            lines.append("""
                n                           \(report.n)
                emotion macro-F1            \(f(report.emotionMacroF1))   accuracy \(f(report.emotionAccuracy))
                emotion macro-F1 text-only  \(f(report.emotionMacroF1TextOnly))   accuracy \(f(report.emotionAccuracyTextOnly))
                emotion wheel error         \(f(report.emotionWheelError))
                sarcasm F1                  \(f(report.sarcasmF1))   AUROC \(f(report.sarcasmAUROC))
                intensity MAE               \(f(report.intensityMAE))
                escalation AUROC            \(f(report.escalationAUROC))   PR-AUC \(f(report.escalationPRAUC))
                  GRU baseline AUROC        \(f(report.escalationAUROCGRU))   PR-AUC \(f(report.escalationPRAUCGRU))
                  persistence AUROC         \(f(report.escalationAUROCPersistence))   PR-AUC \(f(report.escalationPRAUCPersistence))
                """)
        }
        if let classes = report.perClass {
            lines.append("\nemotion accuracy with emoji \(f(report.emotionAccuracyWithEmoji))   without \(f(report.emotionAccuracyWithoutEmoji))")
            lines.append("emotion          support  precision  recall      F1  F1 text-only")
            for c in classes {
                lines.append(c.emotion.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
                             + String(format: " %7d  %9.3f  %6.3f  %6.3f  %12.3f", c.support, c.precision, c.recall, c.f1, c.f1TextOnly))
            }
        }
        if let g = report.goEmotions {
            let ci = { (r: ClosedRange<Float>?) in r.map { String(format: " [%.4f, %.4f]", $0.lowerBound, $0.upperBound) } ?? "" }
            let i = g.intervals
            lines.append("""
                comments                    \(g.n)   with a class \(g.classRows), with a sector \(g.sectorRows)\(i.map { "   95 % intervals from \($0.resamples) resamples" } ?? "")
                class macro-F1 (16 mapped)  \(f(g.classMacroF1))\(ci(i?.classMacroF1))   accuracy \(f(g.classAccuracy))
                sector accuracy             \(f(g.sectorAccuracy))\(ci(i?.sectorAccuracy))
                neutral AUROC               \(f(g.neutralAUROC))\(ci(i?.neutralAUROC))   at \(f(g.neutralThreshold)): precision \(f(g.neutralPrecision)) recall \(f(g.neutralRecall)) F1 \(f(g.neutralF1))
                neutral calibration error   \(f(g.neutralCalibrationError))
                """)
        }
        return lines.joined(separator: "\n")
    }
}
