import Foundation
import Contracts
import Emotion

/// A turn of a human-labelled conversation file (the turn schema plus `gold`, one of the seven
/// ``EkmanLabel``s; other fields are ignored), as in MELD and DailyDialog.
public struct ConversationTurn: Sendable, Codable {
    public var dialogueID: String
    public var turnID: Int
    public var speaker: String
    public var text: String
    public var gold: EkmanLabel

    enum CodingKeys: String, CodingKey { case dialogueID = "dialogue_id", turnID = "turn_id", speaker, text, gold }

    /// Reads a file, one JSON object per line, and returns the turns in dialogue order: dialogues
    /// in order of first appearance, each sorted by `turn_id`.
    public static func load(_ url: URL) throws -> [ConversationTurn] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError(.fileNotFound, "cannot read \(url.path)", cause: error)
        }
        var turns: [ConversationTurn] = []
        let decoder = JSONDecoder()
        for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
            do { turns.append(try decoder.decode(ConversationTurn.self, from: Data(line))) } catch {
                throw ModelError(.invalidInput, "\(url.path):\(n + 1): \(error)")
            }
        }
        return dialogueOrder(turns, dialogue: \.dialogueID, turn: \.turnID)
    }
}

/// Groups turns by dialogue (in order of first appearance) and sorts each dialogue by turn id.
func dialogueOrder<T>(_ turns: [T], dialogue: (T) -> String, turn: (T) -> Int) -> [T] {
    var order: [String] = [], groups: [String: [T]] = [:]
    for t in turns {
        let id = dialogue(t)
        if groups[id] == nil { order.append(id) }
        groups[id, default: []].append(t)
    }
    return order.flatMap { groups[$0]!.sorted { turn($0) < turn($1) } }
}
