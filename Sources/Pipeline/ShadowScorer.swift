import Foundation
import Synchronization

/// A second model that scores every analyzed turn beside the processor's own (`--shadow-model`),
/// so operators can compare the two in SQL before switching. Its predictions go only to
/// `emotion_audit_shadow`, never to a topic.
///
/// It keeps its own dialogue states, in memory only: after a restart or a rebalance its dialogues
/// start afresh. At most `maxDialogues` are kept; beyond, the least recently seen half is dropped.
public final class ShadowScorer: Sendable {
    /// The shadow model's version, in every shadow row.
    public let modelVersion: String
    private let score: @Sendable ([TimedTurn]) throws -> [TurnAnalysis]

    public init<Analyzer: TurnAnalyzer>(_ analyzer: Analyzer, maxDialogues: Int = 100_000) {
        modelVersion = analyzer.modelVersion
        let states = Mutex(ShadowStates<Analyzer.State>(maxDialogues: maxDialogues))
        score = { turns in
            try states.withLock { store in
                var batch: [String: Analyzer.State] = [:]
                for t in turns { batch[t.turn.stateKey] = batch[t.turn.stateKey] ?? store.take(t.turn.stateKey) }
                let out = try analyzer.analyze(turns, states: &batch)
                store.put(batch)
                return out
            }
        }
    }

    /// The shadow model's analyses of `turns` (in order), its dialogue states advanced.
    func analyze(_ turns: [TimedTurn]) throws -> [TurnAnalysis] {
        try score(turns)
    }
}

/// The shadow model's dialogue states, bounded.
struct ShadowStates<State>: ~Copyable {
    private var entries: [String: (state: State, used: UInt64)] = [:]
    private var tick: UInt64 = 0
    let maxDialogues: Int

    init(maxDialogues: Int) { self.maxDialogues = max(1, maxDialogues) }

    var count: Int { entries.count }

    mutating func take(_ id: String) -> State? { entries[id]?.state }

    mutating func put(_ states: [String: State]) {
        tick += 1
        for (id, s) in states { entries[id] = (s, tick) }
        guard entries.count > maxDialogues else { return }
        let keep = entries.sorted { $0.value.used > $1.value.used }.prefix(maxDialogues / 2)
        entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }
}
