import Contracts
import Emotion
import Encoder
import Escalation
import Foundation
import Synchronization
import Tokenizer

/// The real model behind the pipeline: WordPiece + MiniLM (each turn encoded once, batched and
/// packed), the emotion heads over the turn and its dialogue context, and the escalation ODE-RNN.
///
/// Not re-entrant: the processor analyzes one batch at a time, and a lock makes sure of it.
/// A new model is loaded beside the one in use (``stageIfChanged()``) and swapped in between
/// batches (``adoptStagedModel()``, which the processor calls before each batch).
public final class ModelAnalyzer: TurnAnalyzer, @unchecked Sendable {
    /// What one dialogue carries between turns: a context summary and the escalation state.
    public struct State: Sendable, Codable, Equatable {
        public var context: DialogueContext
        public var escalation: EscalationState
        /// The escalation risk after the last turn, and how much each of the last eight turns
        /// changed it (oldest first), for explanations. Nil in states stored before they existed.
        public var lastRisk: Float?
        public var recentRiskChanges: [Explanation.RiskMove]?
    }

    /// Whether every turn gets an ``Explanation`` (alert turns always do).
    public let explainAllTurns: Bool
    /// Per-tenant alarm and neutral thresholds, read once per batch.
    public let policies: TenantPolicyStore
    /// A turn more than this after its dialogue's last one (in the turns' own times) starts a fresh
    /// window: context and escalation state, wherever the batches fall.
    public let windowIdle: TimeInterval

    /// Where the model is loaded from, and how, for reloads.
    private let source: Source
    /// The model in use, and one loaded by ``stageIfChanged()`` waiting for ``adoptStagedModel()``.
    private var model: Model
    private var staged: Model?
    /// The fingerprint of the last reload that failed: not retried until the files change again.
    private var failedFingerprint: String?
    /// Held for a whole batch's analysis, so a swap falls between batches.
    private let lock = NSLock()
    /// What the processor asks between batches, readable while a batch holds `lock`.
    private let current: Mutex<Summary>

    /// Loads the encoder from `modelDirectory`, the heads and the forecaster from theirs.
    public init(modelDirectory: URL, headsDirectory: URL, escalationDirectory: URL,
                encoder configuration: EncoderConfiguration = .init(), cacheCapacity: Int = 2_000, explainAllTurns: Bool = false,
                policies: TenantPolicyStore = TenantPolicyStore(), windowIdle: TimeInterval = PipelineConfiguration.defaultWindowIdle) throws {
        self.explainAllTurns = explainAllTurns
        self.windowIdle = windowIdle
        self.policies = policies
        source = Source(modelDirectory: modelDirectory, headsDirectory: headsDirectory, escalationDirectory: escalationDirectory,
                        encoder: configuration, cacheCapacity: cacheCapacity)
        model = try Model(source, fingerprint: try source.fingerprint())
        current = Mutex(Summary(model))
    }

    /// The version of the model in use (it changes when a staged model is adopted).
    public var modelVersion: String { current.withLock { $0.version } }

    /// Loads the model again from its directories if their files changed since the model in use
    /// (or the staged one) was loaded, and stages it for ``adoptStagedModel()``; returns its version,
    /// or nil when nothing changed. A model that fails to load throws (the one in use stays), and
    /// is not tried again until its files change once more, unless `retryFailed`.
    public func stageIfChanged(retryFailed: Bool = false) throws -> String? {
        let fingerprint = try source.fingerprint()
        let (loaded, failed) = lock.withLock { (staged?.fingerprint ?? model.fingerprint, failedFingerprint) }
        guard fingerprint != loaded, retryFailed || fingerprint != failed else { return nil }
        do {
            let next = try Model(source, fingerprint: fingerprint)
            lock.withLock { staged = next; failedFingerprint = nil }
            return next.version
        } catch {
            lock.withLock { failedFingerprint = fingerprint }
            throw error
        }
    }

    public func adoptStagedModel() -> String? {
        lock.withLock {
            guard let next = staged else { return nil }
            model = next
            staged = nil
            current.withLock { $0 = Summary(next) }
            return next.version
        }
    }

    /// How many recent turns an explanation's `escalation_turns` are chosen from.
    static let riskWindow = 8

    /// The forecaster's own alarm thresholds (from its manifest), which tenant policies override.
    public var modelAlarm: EscalationAlarm { current.withLock { $0.alarm } }

    /// Checks `policies` against the model in use (`TenantPolicies.validate`).
    /// - Throws: `PipelineError(.invalidConfiguration)` naming the tenant and setting.
    public func validate(_ policies: TenantPolicies) throws(PipelineError) {
        let (alarm, rate) = current.withLock { ($0.alarm, $0.neutralBaseRate) }
        try policies.validate(modelAlarm: alarm, modelNeutralBaseRate: rate)
    }

    /// The embedding cache's hit rate so far.
    public var cacheHitRate: Double { lock.withLock { model.cache.hitRate } }

    /// A state with both context vectors, an 8-byte speaker ("customer"), two emoji and eight risk moves.
    public var stateBytes: Int {
        var state = initialState()
        let dimension = current.withLock { $0.embeddingDimension }
        for _ in 0..<2 { state.context.append(embedding: [Float](repeating: 0, count: dimension), speaker: "customer") }
        state.lastRisk = 0
        state.recentRiskChanges = (1_000..<(1_000 + Self.riskWindow)).map { .init(turnID: $0, riskChange: 0) }
        return state.binaryRecord().count + 2 * 4
    }

    public func initialState() -> State {
        State(context: DialogueContext(), escalation: current.withLock { $0.initialEscalation })
    }

    public func analyze(_ turns: [TimedTurn], states: inout [String: State]) throws -> [TurnAnalysis] {
        try analyze(turns, states: &states, explain: [])
    }

    public func analyze(_ turns: [TimedTurn], states: inout [String: State], explain: [Bool]) throws -> [TurnAnalysis] {
        try lock.withLock {
            let heads = model.heads, forecaster = model.forecaster
            let embeddings = try embed(turns.map(\.turn.text))
            // A turn more than `windowIdle` after its dialogue's latest starts a fresh window: its
            // context goes by a key of its own (the dialogue's, then its window's number).
            var latest: [String: Double] = [:], windows: [String: Int] = [:]
            var freshWindow: [Bool] = [], contextKeys: [String] = []
            for t in turns {
                let k = t.turn.stateKey, at = t.timestamp.timeIntervalSince1970
                let before = latest[k] ?? states[k]?.escalation.lastTimestamp
                let fresh = before.map { at - $0 > windowIdle } ?? false
                if fresh { windows[k, default: 0] += 1 }
                latest[k] = max(at, before ?? at)
                freshWindow.append(fresh)
                contextKeys.append(windows[k].map { "\(k)\u{0}\($0)" } ?? k)
            }
            // The heads see the whole batch in one pass; the contexts advance turn by turn.
            var contexts: [String: DialogueContext] = [:]
            for (t, key) in zip(turns, contextKeys) where contexts[key] == nil {
                contexts[key] = key == t.turn.stateKey ? states[key]?.context ?? DialogueContext() : DialogueContext()
            }
            let inputs = heads.nextInputs(zip(contextKeys, zip(turns, embeddings)).map { (key: $0, vector: $1.1, text: $1.0.turn.text, speaker: $1.0.turn.speaker) },
                                          contexts: &contexts)
            let predictions = heads.predict(inputs)
            var out: [TurnAnalysis] = []
            out.reserveCapacity(turns.count)
            let policies = self.policies.policies
            var explained: [Int] = []
            for (i, (timed, predicted)) in zip(turns, predictions).enumerated() {
                let turn = timed.turn
                let policy = policies.policy(for: turn.tenant)
                var prediction = predicted
                var state = freshWindow[i] ? initialState() : states[turn.stateKey] ?? initialState()
                let f = try forecaster.update(&state.escalation, prediction: prediction, text: turn.text,
                                              timestamp: timed.timestamp.timeIntervalSince1970,
                                              alarm: policy.alarm(over: forecaster.alarm))
                // The tenant's gate: its base rate and threshold, after the forecast read the model's own.
                let threshold = policy.neutralThreshold ?? heads.neutralThreshold
                if let rate = policy.neutralBaseRate, let calibrated = heads.neutralBaseRate {
                    prediction = prediction.shiftingNeutralPrior(from: calibrated, to: rate, threshold: threshold)
                } else if policy.neutralThreshold != nil {
                    prediction.isNeutral = prediction.neutral >= threshold
                }
                var changes = state.recentRiskChanges ?? []
                changes.append(Explanation.RiskMove(turnID: turn.turnID, riskChange: f.risk - (state.lastRisk ?? 0)))
                state.recentRiskChanges = changes.suffix(Self.riskWindow)
                state.lastRisk = f.risk
                states[turn.stateKey] = state
                var explanation: Explanation?
                if explainAllTurns || f.alert || (i < explain.count && explain[i]) {
                    explanation = Explanation(words: [], escalationTurns: Array(state.recentRiskChanges!.sorted { abs($0.riskChange) > abs($1.riskChange) }.prefix(3)))
                    explained.append(i)
                }
                out.append(TurnAnalysis(prediction: prediction, escalation: f, explanation: explanation))
            }
            for (t, key) in zip(turns, contextKeys) { states[t.turn.stateKey, default: initialState()].context = contexts[key]! }
            if !explained.isEmpty {
                // Greedy word deletion through the encoder and the heads: every explained turn's
                // deletions in one packed batch, kept out of the embedding cache.
                let words = try heads.wordContributions(explained.map { inputs[$0] }, emotions: explained.map { out[$0].prediction.label },
                                                        embed: { try embed($0, caching: false) })
                for (i, w) in zip(explained, words) { out[i].explanation?.words = w }
            }
            return out
        }
    }

    /// Embeds texts once each: cache hits skip the encoder, the rest go through in one packed batch.
    /// For heads that read encoder layer features, each vector is the embedding followed by them.
    /// Called with the lock held. Without `caching`, the texts neither come from nor go to the cache.
    private func embed(_ texts: [String], caching: Bool = true) throws -> [[Float]] {
        var out = [[Float]?](repeating: nil, count: texts.count)
        var missing: [Int] = []
        for (i, t) in texts.enumerated() {
            if caching, let v = model.cache.get(t) { out[i] = v } else { missing.append(i) }
        }
        if !missing.isEmpty {
            let encoder = model.encoder
            let ids = missing.map { model.tokenizer.encode(texts[$0], maxLength: encoder.configuration.maxLength) }
            let layers = model.heads.encoderLayers
            let vectors: [[Float]]
            if layers.isEmpty {
                vectors = try encoder.encode(ids)
            } else {
                let r = try encoder.encode(ids, layers: layers)
                vectors = zip(r.embeddings, r.layerFeatures).map { $0 + $1 }
            }
            for (i, v) in zip(missing, vectors) {
                out[i] = v
                if caching { model.cache.put(texts[i], v) }
            }
        }
        return out.map { $0! }
    }

    /// The state as a compact binary record: `PDS2`, the context, the escalation state, the risk
    /// and its recent moves (``State/binaryMagic``; about 0.9 KB with two context vectors).
    public func encode(_ state: State) throws -> [UInt8] {
        state.binaryRecord()
    }

    /// Reads ``encode(_:)``'s record, its `PDS1` predecessor, or a binary property list as states were
    /// stored before both.
    /// The state's bytes must not only parse: their vectors must have this model's sizes (a state
    /// of another model would otherwise trap in the arithmetic).
    public func decode(_ bytes: [UInt8]) throws -> State {
        let state: State
        if State.isBinaryRecord(bytes) {
            do { state = try State(binaryRecord: bytes) } catch {
                throw ModelError(.invalidInput, "dialogue state: \(error)")
            }
        } else {
            state = try PropertyListDecoder().decode(State.self, from: Data(bytes))
        }
        let (e, l) = current.withLock { ($0.embeddingDimension, $0.initialEscalation.h.count) }
        let sizes = [state.context.previous?.q.count, state.context.summary?.q.count].compactMap { $0 }
        guard sizes.allSatisfy({ $0 == e }), state.escalation.h.count == l,
              (0..<(1 << 40)).contains(state.context.turns), (0..<(1 << 40)).contains(state.escalation.turns),
              state.context.previousEmoji.allSatisfy({ $0 >= 0 }), (state.recentRiskChanges?.count ?? 0) <= Self.riskWindow else {
            throw ModelError(.invalidInput, "dialogue state has context vectors of \(sizes) values and a latent state of \(state.escalation.h.count); this model needs \(e) and \(l)")
        }
        return state
    }
}
