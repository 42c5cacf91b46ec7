import Foundation
import Testing
@testable import Contracts
@testable import Escalation
@testable import Training

/// End-to-end inputs, distillation from a timestamped corpus, loss weights and cross-fitting.
@Suite struct EscalationDataTests {
    static func write(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("esc-data-\(UUID().uuidString).jsonl")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// The forecaster tests' fixture, with the sarcasm flag on every line (LabelledTurn requires it).
    static var labelled: String {
        EscalationForecasterTests.fixture.replacingOccurrences(of: "\"serenity\"}", with: "\"serenity\", \"sarcasm_flag\": false}")
    }

    static let corpus = """
    {"dialogue_id": "x", "turn_id": 1, "speaker": "b", "ts": "2018-05-02T19:38:20Z", "text": "fine, you?"}
    {"dialogue_id": "x", "turn_id": 0, "speaker": "a", "ts": "2018-05-02T19:38:15Z", "text": "hi"}
    {"dialogue_id": "y", "turn_id": 0, "speaker": "a", "ts": 1525289895000, "text": "yo"}
    {"dialogue_id": "x", "turn_id": 2, "speaker": "a", "ts": "2018-05-02T19:40:20.500Z", "text": "this is awful", "role": "customer"}
    """

    static func prediction(_ e: PlutchikEmotion, _ p: Float = 0.7) -> EmotionPrediction {
        var probs = [Float](repeating: (1 - p) / Float(PlutchikEmotion.count - 1), count: PlutchikEmotion.count)
        probs[e.index] = p
        return EmotionPrediction(probabilities: probs, sarcasm: 0.1, intensity: 0.5)
    }

    @Test func loadsTimedTurnsInDialogueOrder() throws {
        let url = try Self.write(Self.corpus)
        defer { try? FileManager.default.removeItem(at: url) }
        let t = try CorpusTurn.load(url)
        #expect(t.map(\.dialogueID) == ["x", "x", "x", "y"] && t.map(\.turnID) == [0, 1, 2, 0])
        #expect(t[1].timestamp - t[0].timestamp == 5)
        #expect(abs(t[2].timestamp - t[0].timestamp - 125.5) < 1e-6)
        #expect(t[2].role == .customer && t[0].role == .unknown)
        #expect(t[3].timestamp == 1_525_289_895)
    }

    @Test func distilledDialoguesKeepRealTimingAndTeacherLabels() throws {
        let url = try Self.write(Self.corpus)
        defer { try? FileManager.default.removeItem(at: url) }
        let turns = try CorpusTurn.load(url)
        let preds = [Self.prediction(.joy), Self.prediction(.trust), Self.prediction(.rage), Self.prediction(.joy)]
        var d = EscalationDialogue.distilled(turns, predictions: preds)
        #expect(d.map(\.id) == ["x", "y"] && d.allSatisfy(\.realTiming))
        #expect(d[0].turns.map(\.timestamp) == [0, 5, 125.5])
        #expect(d[0].turns.map(\.emotion) == [.joy, .trust, .rage])
        #expect(d[0].label(at: 0) == true && d[0].label(at: 1) == true && d[0].label(at: 2) == nil)
        #expect(d[0].turns[2].input.probabilities == preds[2].probabilities)
        // Real timestamps are never re-drawn.
        d[0].synthesiseTimestamps(EscalationGaps(), seed: 99)
        #expect(d[0].turns.map(\.timestamp) == [0, 5, 125.5])
    }

    @Test func labelledDialoguesMatchTheLoaderAndTakeGivenInputs() throws {
        let url = try Self.write(Self.labelled)
        defer { try? FileManager.default.removeItem(at: url) }
        let turns = try LabelledTurn.load(url)
        let oracle = EscalationDialogue.labelled(turns, inputs: nil, seed: 7)
        let loaded = try EscalationDialogue.load(url, seed: 7)
        #expect(oracle.map(\.id) == loaded.map(\.id))
        for (a, b) in zip(oracle, loaded) {
            #expect(a.turns.map(\.emotion) == b.turns.map(\.emotion))
            #expect(a.turns.map(\.timestamp) == b.turns.map(\.timestamp))
            #expect(a.turns.map(\.input.probabilities) == b.turns.map(\.input.probabilities))
        }
        let inputs = turns.map { _ in Self.prediction(.serenity) }
        let e2e = EscalationDialogue.labelled(turns, inputs: inputs, seed: 7)
        #expect(e2e.flatMap(\.turns).allSatisfy { $0.input.label == .serenity })
        #expect(e2e[0].turns.map(\.emotion) == oracle[0].turns.map(\.emotion))
    }

    @Test func dialogueWeightScalesLossAndGradient() throws {
        var d = try EscalationForecasterTests.dialogues()[0]
        let w = EscalationForecasterTests.randomWeights(ode: true)
        var g1 = [Float](repeating: 0, count: w.params.count), g2 = g1
        let a = EscalationTrainer.lossAndGradient(d, w, horizonSeconds: 120, horizonWeight: 0.5, grad: &g1)
        d.weight = 2
        let b = EscalationTrainer.lossAndGradient(d, w, horizonSeconds: 120, horizonWeight: 0.5, grad: &g2)
        #expect(a.count == b.count && abs(b.loss - 2 * a.loss) < 1e-4 * abs(a.loss))
        #expect(zip(g1, g2).allSatisfy { abs($1 - 2 * $0) <= 1e-4 * max(1, abs($0)) })
    }

    @Test func crossFittedPredictionsCoverEveryTurnReproducibly() throws {
        let url = try Self.write(Self.labelled)
        defer { try? FileManager.default.removeItem(at: url) }
        let turns = try LabelledTurn.load(url)
        var rng = EscalationRandom(seed: 5)
        let emb = turns.map { _ in (0..<8).map { _ in Float(rng.uniform() - 0.5) } }
        let data = HeadsTrainingData(turns: turns, embeddings: emb, textOnlyEmbeddings: emb)
        var cf = HeadsTrainingConfiguration()
        cf.hidden = 4; cf.maxEpochs = 2; cf.batchSize = 4
        let prov = HeadsProvenance(version: "t", trainingDataSHA256: "", validationDataSHA256: "", encoderSHA256: "")
        let a = HeadsTrainer.crossFittedPredictions(train: data, val: data, folds: 2, provenance: prov, configuration: cf)
        let b = HeadsTrainer.crossFittedPredictions(train: data, val: data, folds: 2, provenance: prov, configuration: cf)
        #expect(a.count == turns.count)
        #expect(a.map(\.probabilities) == b.map(\.probabilities))
        #expect(a.allSatisfy { abs($0.probabilities.reduce(0, +) - 1) < 1e-4 })
    }

    @Test func sliceIsStableAndRoughlyThePercent() {
        let ids = (0..<2000).map { "d\($0)" }
        let n = ids.filter { EscalationDialogue.inSlice($0, percent: 20, salt: "s:") }.count
        #expect((300...500).contains(n))
        #expect(ids.map { EscalationDialogue.inSlice($0, percent: 20, salt: "s:") } == ids.map { EscalationDialogue.inSlice($0, percent: 20, salt: "s:") })
    }
}
