import Contracts
import Dispatch
import Foundation
import Pipeline
import Synchronization

/// Micro-batches analyze requests: requests that arrive while a batch is being analyzed wait and
/// go through together in the next one (up to `maxBatchTurns` encoder passes: a turn is one, an
/// explained turn about three more per word), so concurrent callers share
/// forward passes and a lone caller waits for nobody. Analysis runs on a queue of its own, off
/// Swift's cooperative threads.
///
/// Each request is a dialogue on its own: it starts from a fresh state, and its turns carry their
/// context and escalation from one to the next exactly as the stream's do. The analyzer may be
/// the stream processor's own (it analyzes one batch at a time, so the two take turns).
///
/// Fair between callers (tenants): a batch takes one waiting request of each caller in turn, oldest
/// first, so a caller's backlog delays another's request by about a batch, not by the backlog; and
/// each caller may have at most a quarter of the queue waiting.
public final class AnalyzeBatcher<Analyzer: TurnAnalyzer>: Sendable {
    struct Job: Sendable {
        var turns: [TimedTurn]
        /// Per turn, whether to explain it.
        var explain: [Bool]
        /// Who asked (the tenant), for fairness.
        var caller: String
        /// Encoder passes the job costs: a pass per turn, and about three per word of an explained
        /// turn (greedy deletion), so a batch of explanations stays as short as a batch of turns.
        var cost: Int
        var continuation: CheckedContinuation<[TurnAnalysis], any Error>
    }

    struct Queue {
        var jobs: [Job] = []
        /// Turns in `jobs` (waiting, not yet in a batch).
        var queuedTurns = 0
        var queuedByCaller: [String: Int] = [:]
        /// Turns analyzed per caller while it has had requests waiting (see ``AnalyzeBatcher/fairBatch(_:maxTurns:served:)``).
        var served: [String: Int] = [:]
        /// When the next batch may start, so that this batcher uses at most its share of the analyzer.
        var notBefore: ContinuousClock.Instant?
        /// Whether a batch is being analyzed (and the worker will look at `jobs` again after it).
        var running = false
    }

    public let analyzer: Analyzer
    let maxBatchTurns: Int
    /// The most turns that may wait; a request that would go over is refused (429).
    let maxQueuedTurns: Int
    /// The share of the analyzer's time this batcher may take (0...1): after a batch that took
    /// `d`, the next waits `d × (1/share − 1)`. Under `run` the stream analyzes the rest of the time.
    let share: Double
    private let queue = Mutex(Queue())
    private let worker = DispatchQueue(label: "plutchik.gateway.analyze")
    private let metrics = GatewayMetrics.shared

    public init(analyzer: Analyzer, maxBatchTurns: Int = 64, maxQueuedTurns: Int = 1_024, share: Double = 1) {
        self.analyzer = analyzer
        self.maxBatchTurns = max(1, maxBatchTurns)
        self.maxQueuedTurns = max(self.maxBatchTurns, maxQueuedTurns)
        self.share = min(max(share, 0.01), 1)
    }

    /// Analyzes one dialogue's turns in order, from a fresh dialogue state; with `explain`, every
    /// turn gets its explanation, or with `onlyLast` too the last turn only (alert turns always do).
    /// Explaining a turn costs an encoder pass per word.
    /// - Throws: ``GatewayError`` `overloaded` when the queue holds ``maxQueuedTurns`` already, or
    ///   `caller` a quarter of them.
    public func analyze(_ turns: [TimedTurn], explain: Bool, onlyLast: Bool = false, caller: String = "") async throws -> [TurnAnalysis] {
        guard !turns.isEmpty else { return [] }
        let marks = turns.indices.map { explain && (!onlyLast || $0 == turns.count - 1) }
        let perCaller = max(maxBatchTurns, maxQueuedTurns / 4)
        return try await withCheckedThrowingContinuation { c in
            let start: Bool? = queue.withLock { q in
                guard q.queuedTurns + turns.count <= maxQueuedTurns, q.queuedByCaller[caller, default: 0] + turns.count <= perCaller else { return nil }
                let words = zip(turns, marks).reduce(0) { $0 + ($1.1 ? $1.0.turn.text.split(separator: " ").count : 0) }
                q.jobs.append(Job(turns: turns, explain: marks, caller: caller, cost: turns.count + 3 * words, continuation: c))
                q.queuedTurns += turns.count
                q.queuedByCaller[caller, default: 0] += turns.count
                defer { q.running = true }
                return !q.running
            }
            guard let start else {
                metrics.overloaded.increment()
                c.resume(throwing: GatewayError(.overloaded, "the model's queue is full; retry later", isRetriable: true))
                return
            }
            if start { worker.async { self.drain() } }
        }
    }

    /// Analyzes queued jobs batch by batch until none is left.
    private func drain() {
        while true {
            if let notBefore = queue.withLock({ $0.notBefore }), case let wait = notBefore - .now, wait > .zero {
                Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
            }
            let jobs: [Job] = queue.withLock { q in
                let picked = Self.fairBatch(q.jobs.map { ($0.caller, $0.cost) }, maxTurns: maxBatchTurns, served: &q.served)
                let out = picked.map { q.jobs[$0] }
                for i in picked.sorted(by: >) { q.jobs.remove(at: i) }
                for job in out {
                    q.queuedTurns -= job.turns.count
                    q.queuedByCaller[job.caller, default: 0] -= job.turns.count
                    if q.queuedByCaller[job.caller] == 0 { q.queuedByCaller[job.caller] = nil }
                }
                if out.isEmpty { q.running = false }
                return out
            }
            if jobs.isEmpty { return }
            metrics.batchTurns.record(jobs.reduce(0) { $0 + $1.turns.count })
            let started = ContinuousClock.now
            defer {
                if share < 1 {
                    let took = ContinuousClock.now - started
                    queue.withLock { $0.notBefore = .now + took * (1 / share - 1) }
                }
            }
            do {
                let results = try run(jobs)
                for (job, r) in zip(jobs, results) { job.continuation.resume(returning: r) }
            } catch {
                // One job's turns may be what failed: each is tried on its own.
                for job in jobs {
                    do { job.continuation.resume(returning: try run([job])[0]) } catch {
                        job.continuation.resume(throwing: GatewayError(.unavailable, "the model could not analyze this request", cause: error))
                    }
                }
            }
        }
    }

    /// The indices of the jobs the next batch takes, while it has room (its first job always
    /// fits; `turns` are the jobs' costs in encoder passes): each time the oldest job of the caller
    /// served least so far (`served`, in the same units, kept
    /// while the caller has jobs waiting), so a caller's backlog cannot hold another's request back.
    static func fairBatch(_ jobs: [(caller: String, turns: Int)], maxTurns: Int, served: inout [String: Int]) -> [Int] {
        var picked: [Int] = [], turns = 0
        var skipped: Set<String> = []
        while true {
            var best: (index: Int, served: Int)?
            for (i, job) in jobs.enumerated() where !picked.contains(i) && !skipped.contains(job.caller) {
                let s = served[job.caller, default: 0]
                if best == nil || s < best!.served { best = (i, s) }
            }
            guard let (i, _) = best else { break }
            let job = jobs[i]
            guard picked.isEmpty || turns + job.turns <= maxTurns else {
                skipped.insert(job.caller)  // its oldest does not fit: the caller waits for the next batch
                continue
            }
            picked.append(i)
            turns += job.turns
            served[job.caller, default: 0] += job.turns
            if turns >= maxTurns { break }
        }
        let waiting = Set(jobs.indices.filter { !picked.contains($0) }.map { jobs[$0].caller })
        served = served.filter { waiting.contains($0.key) }
        return picked
    }

    /// One analyzer call for all the jobs; each job's dialogue gets a key of its own, so requests
    /// that reuse a dialogue id never share a state.
    private func run(_ jobs: [Job]) throws -> [[TurnAnalysis]] {
        var turns: [TimedTurn] = [], explain: [Bool] = []
        for (j, job) in jobs.enumerated() {
            for var t in job.turns {
                t.turn.dialogueID = "\(j)\u{0}\(t.turn.dialogueID)"
                turns.append(t)
            }
            explain += job.explain
        }
        var states: [String: Analyzer.State] = [:]
        let all = try analyzer.analyze(turns, states: &states, explain: explain)
        guard all.count == turns.count else {
            // (A model error: `drain` answers it as 503, never by trapping on a missing result.)
            throw GatewayError(.unavailable, "the analyzer returned \(all.count) results for \(turns.count) turns")
        }
        var out: [[TurnAnalysis]] = [], at = 0
        for job in jobs {
            out.append(Array(all[at..<at + job.turns.count]))
            at += job.turns.count
        }
        return out
    }
}
