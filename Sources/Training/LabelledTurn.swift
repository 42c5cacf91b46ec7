import Foundation
import Contracts

/// A turn of the labelled Plutchik dataset (JSONL; other fields are ignored).
public struct LabelledTurn: Sendable, Codable {
    public var dialogueID: String
    public var turnID: Int
    public var speaker: String
    public var text: String
    public var emotion: PlutchikEmotion
    public var sarcasm: Bool

    enum CodingKeys: String, CodingKey {
        case dialogueID = "dialogue_id", turnID = "turn_id", speaker, text, emotion, sarcasm = "sarcasm_flag"
    }

    /// Reads a dataset file, one JSON object per line, and returns the turns in dialogue order:
    /// dialogues in order of first appearance, each sorted by `turn_id`.
    public static func load(_ url: URL) throws -> [LabelledTurn] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError(.fileNotFound, "cannot read \(url.path)", cause: error)
        }
        var turns: [LabelledTurn] = []
        let decoder = JSONDecoder()
        for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
            do { turns.append(try decoder.decode(LabelledTurn.self, from: Data(line))) } catch {
                throw ModelError(.invalidInput, "\(url.path):\(n + 1): \(error)")
            }
        }
        return dialogueOrder(turns)
    }

    /// Groups turns by dialogue (in order of first appearance) and sorts each dialogue by turn id.
    static func dialogueOrder(_ turns: [LabelledTurn]) -> [LabelledTurn] {
        Training.dialogueOrder(turns, dialogue: \.dialogueID, turn: \.turnID)
    }
}
