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
        public var characters: Int
        /// The forecaster's input: by default the oracle (one-hot of the annotated emotion, its ring
        /// intensity, the sarcasm flag); replace with the heads' predictions to evaluate end to end.
        public var input: EmotionPrediction
        /// Seconds since the dialogue's first turn (synthetic unless the data has times).
        public var timestamp: Double

        /// Whether this turn counts towards escalation labels: customer turns, or any turn when
        /// its role is unknown.
        var countsAsCustomer: Bool { role != .agent }
    }

    public var id: String
    public var turns: [Turn]
    /// Whether the timestamps come from the data (real timing): they are then never re-drawn.
    public var realTiming = false
    /// The dialogue's weight in the training loss (to balance corpora of different sizes).
    public var weight: Float = 1

    public init(id: String, turns: [Turn], realTiming: Bool = false, weight: Float = 1) {
        self.id = id; self.turns = turns; self.realTiming = realTiming; self.weight = weight
    }

    /// Whether either of the next 2 turns (customer-side, or any when roles are unknown) is an
    /// escalation emotion; nil at the last turn (nothing follows).
    public func label(at i: Int) -> Bool? {
        guard i + 1 < turns.count else { return nil }
        return turns[(i + 1)...min(i + 2, turns.count - 1)].contains { $0.countsAsCustomer && $0.emotion.isEscalation }
    }

    /// Whether an escalation turn follows within `seconds` of turn i; nil at the last turn.
    func horizonLabel(at i: Int, seconds: Double) -> Bool? {
        guard i + 1 < turns.count else { return nil }
        let t0 = turns[i].timestamp
        return turns[(i + 1)...].contains { $0.timestamp - t0 <= seconds && $0.countsAsCustomer && $0.emotion.isEscalation }
    }

    /// Re-draws the synthetic timestamps (a no-op for dialogues with real timing).
    public mutating func synthesiseTimestamps(_ gaps: EscalationGaps, seed: UInt64) {
        guard !realTiming else { return }
        let ts = gaps.timestamps(characters: turns.map(\.characters), dialogueID: id, seed: seed)
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
                return Turn(speaker: r.speaker ?? "", role: role, emotion: e, characters: r.text.count, input: input, timestamp: 0)
            }
            var d = EscalationDialogue(id: id, turns: turns)
            d.synthesiseTimestamps(gaps, seed: seed)
            return d
        }
    }
}
