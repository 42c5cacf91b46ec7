/// Why a turn got its emotion and why its dialogue's escalation risk moved: on every escalation
/// alert, and on emotion events when the processor is asked to (`explanation` in both schemas).
public struct Explanation: Sendable, Codable, Equatable {
    /// A word of the turn (as written, between spaces; in a long turn, a run of words) and how
    /// much the predicted emotion's probability drops when the turn is analyzed again without it,
    /// through the encoder and the heads with the same dialogue context (positive: for the emotion).
    public struct Word: Sendable, Codable, Equatable {
        public var word: String
        public var contribution: Float

        public init(word: String, contribution: Float) {
            self.word = word
            self.contribution = contribution
        }
    }

    /// A turn of the dialogue's recent window and how much it changed the escalation risk.
    public struct RiskMove: Sendable, Codable, Equatable {
        public var turnID: Int
        public var riskChange: Float

        public init(turnID: Int, riskChange: Float) {
            self.turnID = turnID
            self.riskChange = riskChange
        }

        enum CodingKeys: String, CodingKey { case turnID = "turn_id", riskChange = "risk_change" }
    }

    /// The turn's words that weighed most for `emotion.label`, the most for it first (empty for an
    /// empty turn).
    public var words: [Word]
    /// The turns of the last eight that moved the escalation risk most, largest move first.
    public var escalationTurns: [RiskMove]

    public init(words: [Word], escalationTurns: [RiskMove] = []) {
        self.words = words
        self.escalationTurns = escalationTurns
    }

    enum CodingKeys: String, CodingKey { case words, escalationTurns = "escalation_turns" }
}
