import Contracts

/// The model side of the pipeline: turns in, predictions out, per-dialogue state carried along.
///
/// The pipeline owns batching, state storage, publishing and auditing; an analyzer owns the
/// arithmetic. Implementations must be deterministic for a given state and turn, so a replayed
/// turn recomputed after a crash yields the same event.
public protocol TurnAnalyzer: Sendable {
    /// The compact state one dialogue carries between turns (context summary, escalation state).
    associatedtype State: Sendable

    /// The model version written into every event and audit, and beside every stored state: a
    /// state written by another version is dropped on load, not decoded.
    var modelVersion: String { get }
    /// The format of ``encode(_:)``'s bytes; a stored state of another format is dropped on load.
    /// Bump it whenever the encoding changes.
    var stateFormat: Int { get }
    /// The bytes ``encode(_:)`` takes for a dialogue well under way (it sizes the slots of the live
    /// dialogues' store: a longer state still fits, at the cost of an allocation of its own).
    var stateBytes: Int { get }
    /// A new dialogue's state.
    func initialState() -> State
    /// Analyzes `turns` in order. `states` holds the state of each turn's dialogue before the
    /// batch (missing: new dialogue), keyed by ``Turn/stateKey`` (tenant and id: two tenants'
    /// dialogues of one id never share a state), and is updated in place; turns of one dialogue
    /// apply in order.
    func analyze(_ turns: [TimedTurn], states: inout [String: State]) throws -> [TurnAnalysis]
    /// ``analyze(_:states:)`` with an ``Explanation`` on every turn whose `explain` entry is true
    /// (one entry per turn), besides the turns the analyzer explains anyway.
    func analyze(_ turns: [TimedTurn], states: inout [String: State], explain: [Bool]) throws -> [TurnAnalysis]
    /// Serialises a state for `dialogue_state`.
    func encode(_ state: State) throws -> [UInt8]
    /// Restores a state written by ``encode(_:)``; throws, never traps, when the bytes do not fit
    /// this model.
    func decode(_ bytes: [UInt8]) throws -> State
    /// Switches to a model loaded since the last call, if any, and returns its version. The
    /// processor calls it before each batch; the dialogues' states are then reset, since they
    /// were computed by the model that went (their offsets are kept).
    func adoptStagedModel() -> String?
}

extension TurnAnalyzer {
    public var stateFormat: Int { 1 }
    public var stateBytes: Int { 64 }
    public func adoptStagedModel() -> String? { nil }
    public func analyze(_ turns: [TimedTurn], states: inout [String: State], explain: [Bool]) throws -> [TurnAnalysis] {
        try analyze(turns, states: &states)
    }
}

/// What the model says about one turn.
public struct TurnAnalysis: Sendable {
    public var prediction: EmotionPrediction
    public var escalation: EscalationForecast?
    /// Why: on alert turns always, on every turn when the analyzer is asked to explain all.
    public var explanation: Explanation?

    public init(prediction: EmotionPrediction, escalation: EscalationForecast? = nil, explanation: Explanation? = nil) {
        self.prediction = prediction
        self.escalation = escalation
        self.explanation = explanation
    }
}
