import Foundation
import Contracts
import Escalation

/// A labelled dialogue for training and evaluating the escalation forecaster.
public struct EscalationDialogue: Sendable {
    public struct Turn: Sendable {
        public var speaker: String
        public var role: EscalationForecaster.Role
        /// The annotated emotion (the label source).
        public var emotion: PlutchikEmotion
        /// The turn's text (its `ConversationCues` are an input; its length drives synthetic gaps).
        public var text: String
        /// The forecaster's input: by default the oracle (one-hot of the annotated emotion, its ring
        /// intensity, the sarcasm flag); replace with the heads' predictions to evaluate end to end.
        public var input: EmotionPrediction
        /// Seconds since the dialogue's first turn (synthetic unless the data has times).
        public var timestamp: Double

        /// Whether this turn counts towards escalation labels: customer turns, or any turn when
        /// its role is unknown.
        var countsAsCustomer: Bool { role != .agent }

        public init(speaker: String, role: EscalationForecaster.Role, emotion: PlutchikEmotion, text: String,
                    input: EmotionPrediction, timestamp: Double) {
            self.speaker = speaker; self.role = role; self.emotion = emotion; self.text = text
            self.input = input; self.timestamp = timestamp
        }
    }

    /// What followed the last turn shown, when the data says it and not the turns' emotions: a
    /// derailment conversation ends just before its next comment, removed for incivility or not.
    public struct Outcome: Sendable {
        /// Whether the next turn escalates.
        public var escalates: Bool
        /// Seconds from the last turn to it.
        public var afterSeconds: Double

        public init(escalates: Bool, afterSeconds: Double) {
            self.escalates = escalates; self.afterSeconds = afterSeconds
        }
    }

    public var id: String
    public var turns: [Turn]
    /// Whether the timestamps come from the data (real timing): they are then never re-drawn.
    public var realTiming = false
    /// The dialogue's weight in the training loss (to balance corpora of different sizes).
    public var weight: Float = 1
    /// The turn after the last, when known (derailment data); the turns shown then count as calm.
    public var outcome: Outcome?

    public init(id: String, turns: [Turn], realTiming: Bool = false, weight: Float = 1, outcome: Outcome? = nil) {
        self.id = id; self.turns = turns; self.realTiming = realTiming; self.weight = weight; self.outcome = outcome
    }

    /// Whether turn i escalates (customer-side, or any when roles are unknown; the turns shown
    /// never do when the dialogue has an `outcome`), with index `turns.count` standing for the outcome.
    func escalates(_ i: Int) -> Bool {
        if i == turns.count { return outcome?.escalates ?? false }
        return outcome == nil && turns[i].countsAsCustomer && turns[i].emotion.isEscalation
    }

    /// The index of the first escalating turn after the first (`turns.count` for an escalating
    /// outcome), or nil in a calm dialogue.
    public var firstEscalation: Int? {
        turns.isEmpty ? nil : (1...turns.count).first { escalates($0) }
    }

    /// The timestamp of turn i, `turns.count` standing for the outcome.
    func timestamp(_ i: Int) -> Double {
        i < turns.count ? turns[i].timestamp : turns[turns.count - 1].timestamp + (outcome?.afterSeconds ?? 0)
    }

    /// How many turns follow turn i, the outcome included.
    private var end: Int { outcome == nil ? turns.count : turns.count + 1 }

    /// Whether either of the next 2 turns escalates; nil when nothing follows turn i. A dialogue
    /// with an `outcome` is judged at its last turn only, the forecast point the data marks (as
    /// CRAFT is trained): its earlier turns are context, since "the next comment is civil" there
    /// would mostly teach where conversations end.
    public func label(at i: Int) -> Bool? {
        guard i + 1 < end, outcome == nil || i == turns.count - 1 else { return nil }
        return (i + 1...min(i + 2, end - 1)).contains { escalates($0) }
    }

    /// Whether an escalating turn follows within `seconds` of turn i; nil where `label(at:)` is nil.
    func horizonLabel(at i: Int, seconds: Double) -> Bool? {
        guard i + 1 < end, outcome == nil || i == turns.count - 1 else { return nil }
        let t0 = turns[i].timestamp
        return (i + 1..<end).contains { timestamp($0) - t0 <= seconds && escalates($0) }
    }

    /// Re-draws the synthetic timestamps (a no-op for dialogues with real timing).
    public mutating func synthesiseTimestamps(_ gaps: EscalationGaps, seed: UInt64) {
        guard !realTiming else { return }
        let ts = gaps.timestamps(characters: turns.map(\.text.count), dialogueID: id, seed: seed)
        for i in turns.indices { turns[i].timestamp = ts[i] }
    }

    private struct Row: Decodable {
        var dialogue_id: String
        var turn_id: Int
        var speaker: String?
        var text: String
        var emotion: String
        var sarcasm_flag: Bool?
        var role: String?
    }

    /// Loads a dialogue JSONL file (fields dialogue_id, turn_id, speaker, text, emotion,
    /// sarcasm_flag, optional role customer/agent), groups turns by dialogue in turn order, and
    /// synthesises timestamps. Dialogues come out in order of first appearance.
    public static func load(_ url: URL, gaps: EscalationGaps = EscalationGaps(), seed: UInt64 = 0) throws -> [EscalationDialogue] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ModelError(.fileNotFound, "dialogues \(url.path)", cause: error)
        }
        var order: [String] = [], rows: [String: [Row]] = [:]
        let dec = JSONDecoder()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let r: Row
            do { r = try dec.decode(Row.self, from: Data(line.utf8)) } catch {
                throw ModelError(.invalidFile, "\(url.lastPathComponent) line \(n + 1): not a dialogue turn", cause: error)
            }
            guard PlutchikEmotion(rawValue: r.emotion) != nil else {
                throw ModelError(.invalidFile, "\(url.lastPathComponent) line \(n + 1): unknown emotion \(r.emotion)")
            }
            if rows[r.dialogue_id] == nil { order.append(r.dialogue_id) }
            rows[r.dialogue_id, default: []].append(r)
        }
        return order.map { id in
            let turns = rows[id]!.sorted { $0.turn_id < $1.turn_id }.map { r -> Turn in
                let e = PlutchikEmotion(rawValue: r.emotion)!
                var probs = [Float](repeating: 0, count: PlutchikEmotion.count)
                probs[e.index] = 1
                let input = EmotionPrediction(probabilities: probs, sarcasm: r.sarcasm_flag == true ? 1 : 0, intensity: e.intensity)
                let role = r.role.flatMap(EscalationForecaster.Role.init(rawValue:)) ?? .unknown
                return Turn(speaker: r.speaker ?? "", role: role, emotion: e, text: r.text, input: input, timestamp: 0)
            }
            var d = EscalationDialogue(id: id, turns: turns)
            d.synthesiseTimestamps(gaps, seed: seed)
            return d
        }
    }
}
