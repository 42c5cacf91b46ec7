import Foundation
import Contracts
import Escalation

/// A turn of a timestamped conversation corpus, as JSONL `{"dialogue_id", "turn_id", "speaker",
/// "ts", "text"}` with optional `role`, and `derails` in derailment data (whether the comment after
/// the conversation's last was removed for incivility). `ts` is an RFC 3339 date-time or epoch
/// milliseconds.
public struct CorpusTurn: Sendable {
    public var dialogueID: String
    public var turnID: Int
    public var speaker: String
    public var role: EscalationForecaster.Role
    public var text: String
    /// Seconds since 1970.
    public var timestamp: Double
    /// Derailment data: whether the conversation's next comment, not shown, derails it.
    public var derails: Bool?

    public init(dialogueID: String, turnID: Int, speaker: String, role: EscalationForecaster.Role = .unknown,
                text: String, timestamp: Double, derails: Bool? = nil) {
        self.dialogueID = dialogueID; self.turnID = turnID; self.speaker = speaker; self.role = role
        self.text = text; self.timestamp = timestamp; self.derails = derails
    }

    private struct Row: Decodable {
        var dialogue_id: String
        var turn_id: Int
        var speaker: String?
        var role: String?
        var text: String
        var ts: Stamp
        var derails: Bool?

        enum Stamp: Decodable {
            case string(String), number(Double)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .string(try c.decode(String.self)) }
            }
        }
    }

    /// Loads a corpus and returns its turns in dialogue order (dialogues in order of first
    /// appearance, each sorted by turn id).
    public static func load(_ url: URL) throws -> [CorpusTurn] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError(.fileNotFound, "cannot read \(url.path)", cause: error)
        }
        var order: [String] = [], groups: [String: [CorpusTurn]] = [:]
        let dec = JSONDecoder()
        for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            let r: Row
            do { r = try dec.decode(Row.self, from: Data(line)) } catch {
                throw ModelError(.invalidInput, "\(url.lastPathComponent) line \(n + 1): not a timed turn", cause: error)
            }
            let t: Double
            switch r.ts {
            case .number(let ms): t = ms / 1000
            case .string(let s):
                guard let v = RFC3339.date(s)?.timeIntervalSince1970 else {
                    throw ModelError(.invalidInput, "\(url.lastPathComponent) line \(n + 1): bad ts \(s)")
                }
                t = v
            }
            if groups[r.dialogue_id] == nil { order.append(r.dialogue_id) }
            groups[r.dialogue_id, default: []].append(CorpusTurn(
                dialogueID: r.dialogue_id, turnID: r.turn_id, speaker: r.speaker ?? "",
                role: r.role.flatMap(EscalationForecaster.Role.init(rawValue:)) ?? .unknown, text: r.text, timestamp: t,
                derails: r.derails))
        }
        return order.flatMap { groups[$0]!.sorted { $0.turnID < $1.turnID } }
    }
}

extension EscalationDialogue {
    /// Escalation dialogues from labelled turns in dialogue order, with `inputs[i]` as turn i's
    /// forecaster input (the heads' predictions, end to end) or, when nil, the oracle one-hot of
    /// its annotated emotion. Timestamps are synthesised with `gaps` and `seed`.
    public static func labelled(_ turns: [LabelledTurn], inputs: [EmotionPrediction]?, gaps: EscalationGaps = EscalationGaps(),
                                seed: UInt64 = 0) -> [EscalationDialogue] {
        precondition(inputs == nil || inputs!.count == turns.count)
        var out: [EscalationDialogue] = [], index: [String: Int] = [:]
        for (i, t) in turns.enumerated() {
            let input = inputs?[i] ?? oracle(t.emotion, sarcasm: t.sarcasm)
            let turn = Turn(speaker: t.speaker, role: .unknown, emotion: t.emotion, text: t.text, input: input, timestamp: 0)
            if let k = index[t.dialogueID] { out[k].turns.append(turn) } else {
                index[t.dialogueID] = out.count
                out.append(EscalationDialogue(id: t.dialogueID, turns: [turn]))
            }
        }
        for k in out.indices { out[k].synthesiseTimestamps(gaps, seed: seed) }
        return out
    }

    /// Dialogues from a timestamped corpus with the heads' prediction of each turn as its input.
    /// Derailment data (turns with `derails`) is labelled by its outcome: the next turn, one
    /// median gap after the last, escalates or not, and the turns shown are calm. Otherwise the
    /// corpus is distilled: the prediction's top class stands for the annotated emotion.
    /// Timestamps are the data's, relative to each dialogue's first turn.
    public static func distilled(_ turns: [CorpusTurn], predictions: [EmotionPrediction]) -> [EscalationDialogue] {
        precondition(predictions.count == turns.count)
        var out: [EscalationDialogue] = [], index: [String: Int] = [:], start: [String: Double] = [:]
        for (t, p) in zip(turns, predictions) {
            let t0 = start[t.dialogueID] ?? t.timestamp
            start[t.dialogueID] = t0
            let turn = Turn(speaker: t.speaker, role: t.role, emotion: p.label, text: t.text, input: p,
                            timestamp: t.timestamp - t0)
            if let k = index[t.dialogueID] { out[k].turns.append(turn) } else {
                index[t.dialogueID] = out.count
                let outcome = t.derails.map { Outcome(escalates: $0, afterSeconds: 0) }
                out.append(EscalationDialogue(id: t.dialogueID, turns: [turn], realTiming: true, outcome: outcome))
            }
        }
        for k in out.indices where out[k].outcome != nil {
            let ts = out[k].turns.map(\.timestamp), gaps = zip(ts.dropFirst(), ts).map { $0 - $1 }.sorted()
            out[k].outcome!.afterSeconds = gaps.isEmpty ? 60 : gaps[gaps.count / 2]
        }
        return out
    }

    /// The oracle input for an annotated turn: one-hot emotion, its ring intensity, the sarcasm flag.
    public static func oracle(_ e: PlutchikEmotion, sarcasm: Bool) -> EmotionPrediction {
        var probs = [Float](repeating: 0, count: PlutchikEmotion.count)
        probs[e.index] = 1
        return EmotionPrediction(probabilities: probs, sarcasm: sarcasm ? 1 : 0, intensity: e.intensity)
    }

    /// Whether a dialogue id falls in a `percent` slice chosen by a salted hash (stable across runs).
    public static func inSlice(_ id: String, percent: Int, salt: String) -> Bool {
        Int(EscalationRandom.fnv1a(salt + id) % 100) < percent
    }
}

extension HeadsTrainer {
    /// Cross-fitted ("out-of-fold") predictions on the training turns: the dialogues are split into
    /// `folds` groups by a hash of their id; for each group, heads are trained on the other groups
    /// (early-stopped on `val`, as the committed heads) and predict the group's turns in dialogue
    /// order with context. No turn is predicted by heads that saw it, so the predictions are as
    /// noisy as on unseen data. Deterministic for a configuration.
    public static func crossFittedPredictions(train: HeadsTrainingData, val: HeadsTrainingData, folds: Int,
                                              provenance: HeadsProvenance, configuration cf: HeadsTrainingConfiguration = .init(),
                                              progress: (String) -> Void = { _ in }) -> [EmotionPrediction] {
        precondition(folds >= 2)
        let fold = train.fold(folds)
        var out = [EmotionPrediction?](repeating: nil, count: train.turns.count)
        for k in 0..<folds {
            let inIdx = fold.indices.filter { fold[$0] != k }, outIdx = fold.indices.filter { fold[$0] == k }
            guard !outIdx.isEmpty else { continue }
            var c = cf
            c.seed = cf.seed &+ UInt64(k)
            let heads = HeadsTrainer.train(train: train.subset(inIdx), val: val, provenance: provenance, configuration: c)
            let held = train.subset(outIdx)
            let p = heads.predictDialogues(held.turns.map { ($0.dialogueID, $0.speaker, $0.text) }, embeddings: held.embeddings)
            for (j, i) in outIdx.enumerated() { out[i] = p[j] }
            progress("cross-fit fold \(k + 1)/\(folds): \(inIdx.count) turns in, \(outIdx.count) predicted; best epoch \(heads.manifest.bestEpoch), val macro-F1 \(String(format: "%.3f", heads.manifest.validation.emotionMacroF1 ?? 0))")
        }
        return out.map { $0! }
    }
}
