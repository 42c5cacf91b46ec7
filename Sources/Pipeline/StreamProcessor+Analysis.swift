import Foundation
import Kafka
import Tracing

// Analysis: a batch of records validated into turns, replays spotted, the fresh turns analyzed
// (embeddings, heads, escalation ODE, through the `TurnAnalyzer`) with retries and bisection,
// and the in-memory dialogue state advanced.

extension StreamProcessor {
    /// One record's fate within a batch.
    enum Item {
        case invalid(KafkaRecord, DeadLetterReason)
        case replay(KafkaRecord, TimedTurn)
        case fresh(KafkaRecord, TimedTurn)
    }

    /// A batch analyzed and ready to publish, audit and commit.
    struct PreparedBatch: Sendable {
        var records: [KafkaRecord]
        /// Dead letters, by record.
        var deadLetters: [(record: KafkaRecord, reason: DeadLetterReason)]
        /// Re-published (replayed) events, by record.
        var replays: [(record: KafkaRecord, message: KafkaProducerMessage)]
        var analyzed: [(record: KafkaRecord, turn: TimedTurn, analysis: TurnAnalysis)]
        /// Each dialogue's state after its last analyzed turn in the batch, encoded (for the live
        /// store and `dialogue_state` alike).
        var states: [(dialogueID: String, record: KafkaRecord, turnAt: Date, state: [UInt8])]
        var processedAt: Date
        /// The model that analyzed the batch (a swap may come before the batch is finished).
        var modelVersion: String
        /// The shadow model's analyses, by event id (empty without one, or when it failed).
        var shadows: [String: TurnAnalysis]
        /// Each analyzed turn's span, by event id (empty without a tracer); ended once the batch is
        /// committed.
        var spans: [String: any Tracing.Span]
        var receivedAt: [ContinuousClock.Instant]
        var started: ContinuousClock.Instant
    }

    /// Validates and analyzes a batch, and advances the in-memory dialogue state (the next batch
    /// may need it before this one is audited). Encoding its events and audit rows is left to
    /// ``finish(_:)``, which runs while the next batch is analyzed.
    func prepare(_ records: [KafkaRecord]) async throws -> PreparedBatch {
        let now = Date()
        let started = ContinuousClock.now
        let receivedAt = self.receivedAt
        self.receivedAt.removeAll(keepingCapacity: true)
        // 0. A model loaded since the last batch takes over here, between batches.
        if let next = analyzer.adoptStagedModel() { modelSwapped(to: next) }
        let modelVersion = analyzer.modelVersion
        // 1. Validate; bring back evicted dialogues that return within their window; spot replays of turns
        // already applied.
        let validated = records.map { r in
            Result { () throws(DeadLetterReason) in try configuration.validator.validate(r.value, recordTimestampMs: r.timestampMs, now: now) }
        }
        // The batch's dialogues are looked up once, before the reload: putting reloaded dialogues
        // into the store may evict others of this batch.
        var firstTurnAt: [String: Date] = [:]
        for case .success(let t) in validated { firstTurnAt[t.turn.stateKey] = min(firstTurnAt[t.turn.stateKey] ?? t.timestamp, t.timestamp) }
        var known: [String: DialogueStore.Entry] = [:]
        for id in firstTurnAt.keys { known[id] = dialogues.entry(id) }
        known.merge(try await reloadEvicted(firstTurnAt)) { live, _ in live }
        var items: [Item] = []
        for (r, v) in zip(records, validated) {
            switch v {
            case .success(let turn):
                if let e = known[turn.turn.stateKey], e.source == r.topicPartition, e.lastOffset >= r.offset {
                    items.append(.replay(r, turn))
                } else {
                    items.append(.fresh(r, turn))
                }
            case .failure(let error):
                items.append(.invalid(r, error))
            }
        }

        // 2. Replays re-publish their audited events; those whose audit is another turn's (or
        // missing) join the fresh turns, in record order.
        let replays = items.compactMap { if case .replay(let r, let t) = $0 { (r, t) } else { nil } }
        let (replayMessages, again) = try await republish(replays)
        var fresh: [(KafkaRecord, TimedTurn)] = []
        for item in items {
            switch item {
            case .fresh(let r, let t): fresh.append((r, t))
            case .replay(let r, let t) where again.contains(Self.eventID(r)): fresh.append((r, t))
            default: break
            }
        }

        // 3. Analyze the fresh turns, carrying each dialogue's state, each in a span of its own.
        let spans = startSpans(fresh.map(\.0))
        var states: [String: Analyzer.State] = [:]
        for (_, t) in fresh where states[t.turn.stateKey] == nil {
            if let e = known[t.turn.stateKey],
               t.timestamp.timeIntervalSince(e.lastTurnAt) <= configuration.windowIdle {
                states[t.turn.stateKey] = liveState(e.state, of: t.turn.stateKey)
            }
        }
        // One result per fresh turn: its analysis, or why it failed on its own (a poison turn).
        var results: [Result<TurnAnalysis, AnalysisFailure>] = []
        if !fresh.isEmpty {
            let t0 = ContinuousClock.now
            results = try await analyzeIsolating(fresh.map(\.1), states: &states)
            metrics.inference.record(duration: ContinuousClock.now - t0)
            if fresh.count >= 4 {
                secondsPerTurn = 0.8 * secondsPerTurn + 0.2 * ((ContinuousClock.now - t0) / .seconds(1)) / Double(fresh.count)
            }
            logger.trace("batch analyzed", metadata: ["batch.size": "\(fresh.count)", "batch.inference_ms": "\(ms(ContinuousClock.now - t0))"])
        }

        // 4. Dead letters by record; they, the events and alerts and the audit rows are built in `finish`.
        var deadLetters: [(record: KafkaRecord, reason: DeadLetterReason)] = []
        for case .invalid(let r, let e) in items { deadLetters.append((r, e)) }
        // Turns the model failed on even after retries and bisection go to the dead-letter topic
        // rather than blocking their partitions; the rest of the batch goes on.
        var analyzed: [(record: KafkaRecord, turn: TimedTurn, analysis: TurnAnalysis)] = []
        for ((r, timed), result) in zip(fresh, results) {
            switch result {
            case .failure(let f):
                deadLetters.append((r, DeadLetterReason("processing_failed", f.reason)))
            case .success(let a):
                analyzed.append((r, timed, a))
            }
        }
        let shadows = await shadowAnalyses(analyzed)
        // The state after each dialogue's last analyzed turn in this batch, encoded once for the
        // live store and for `dialogue_state`.
        var lastTurn: [String: Int] = [:]
        for (i, (_, t, _)) in analyzed.enumerated() { lastTurn[t.turn.stateKey] = i }
        var finalStates: [(dialogueID: String, record: KafkaRecord, turnAt: Date, state: [UInt8])] = []
        for (i, (r, t, _)) in analyzed.enumerated() where lastTurn[t.turn.stateKey] == i {
            guard let s = states[t.turn.stateKey] else { continue }
            let bytes = try analyzer.encode(s)
            dialogues.put(t.turn.stateKey, state: bytes, source: r.topicPartition, lastOffset: r.offset, lastTurnAt: t.timestamp)
            finalStates.append((t.turn.stateKey, r, t.timestamp, bytes))
        }
        // Idle windows are judged in event time: the newest turn seen on each partition, not the
        // wall clock, so a backlog of old turns (after an outage, or a historical replay) keeps its
        // dialogues' context between batches; a dialogue among the partition's last records stays
        // (a backfill need not be in time order), and one evicted comes back within its window. A
        // turn stamped ahead of the processing clock (beyond the tolerated skew) does not move it:
        // one outlier must not idle every other dialogue.
        let horizon = now.addingTimeInterval(configuration.watermarkSkew)
        var skewed = 0
        for r in records { newestOffsets[r.topicPartition] = max(newestOffsets[r.topicPartition] ?? r.offset, r.offset) }
        for (r, t) in fresh {
            guard t.timestamp <= horizon else { skewed += 1; continue }
            watermarks[r.topicPartition] = max(watermarks[r.topicPartition] ?? t.timestamp, t.timestamp)
        }
        if skewed > 0 {
            metrics.skewedTurns.increment(by: Int64(skewed))
            stats.skewed += skewed
            logger.debug("turns stamped ahead of the processing clock; the watermark ignores them", metadata: ["turn.count": "\(skewed)"])
        }
        let evictedBefore = dialogues.evictions
        dialogues.evictIdle(watermarks: watermarks, newestOffsets: newestOffsets)
        metrics.evictions.increment(by: Int64(dialogues.evictions - evictedBefore))
        metrics.liveDialogues.record(dialogues.count)
        return PreparedBatch(records: records, deadLetters: deadLetters, replays: replayMessages, analyzed: analyzed, states: finalStates,
                             processedAt: now, modelVersion: modelVersion, shadows: shadows, spans: spans, receivedAt: receivedAt,
                             started: started)
    }

    /// A span per record, child of the trace context in its headers, by event id.
    func startSpans(_ records: [KafkaRecord]) -> [String: any Tracing.Span] {
        guard let tracer else { return [:] }
        var spans: [String: any Tracing.Span] = [:]
        for r in records {
            var context = InstrumentationContext.topLevel
            tracer.extract(r.headers, into: &context, using: KafkaHeadersExtractor())
            let span = tracer.startSpan("plutchik.turn", context: context, ofKind: .consumer)
            span.attributes["messaging.system"] = "kafka"
            span.attributes["messaging.destination.name"] = r.topic
            span.attributes["messaging.kafka.destination.partition"] = Int(r.partition)
            span.attributes["messaging.kafka.message.offset"] = Int(r.offset)
            spans[Self.eventID(r)] = span
        }
        return spans
    }

    /// The shadow model's analyses of the analyzed turns, by event id. A failure costs the batch
    /// its shadow rows only, never its events.
    func shadowAnalyses(_ analyzed: [(record: KafkaRecord, turn: TimedTurn, analysis: TurnAnalysis)]) async -> [String: TurnAnalysis] {
        guard let shadow, !analyzed.isEmpty else { return [:] }
        let turns = analyzed.map(\.turn)
        do {
            let out = try await runBlocking("plutchik.shadow", stackSize: 8 << 20) { try shadow.analyze(turns) }
            var byEvent: [String: TurnAnalysis] = [:]
            for (a, s) in zip(analyzed, out) { byEvent[Self.eventID(a.record)] = s }
            return byEvent
        } catch {
            metrics.shadowFailures.increment()
            logger.warning("shadow model failed on a batch; its turns get no shadow rows", metadata: ["error": "\(error)"])
            return [:]
        }
    }

    /// After a swap the live dialogues start afresh (the old model's context and escalation state
    /// mean nothing to the new one), keeping their offsets, so replays are still recognised.
    func modelSwapped(to version: String) {
        let reset = dialogues.resetStates(to: (try? analyzer.encode(analyzer.initialState())) ?? [])
        metrics.modelSwaps.increment()
        stats.modelSwaps += 1
        stats.resetStates += reset
        logger.info("model swapped", metadata: ["model.version": "\(version)", "dialogue.reset": "\(reset)"])
    }

    /// Why the model gave up on one turn.
    struct AnalysisFailure: Error {
        var reason: String
    }

    /// Analyzes `turns`, retrying the whole batch up to `maxAttempts` times. If it still fails,
    /// bisects it (one attempt per half) so that only the turns that fail on their own are given
    /// up: a poison turn costs its batch about 2·log2(n) extra analyses, not its neighbours' events.
    /// `states` is only advanced by the turns that succeed.
    func analyzeIsolating(_ turns: [TimedTurn], states: inout [String: Analyzer.State]) async throws
        -> [Result<TurnAnalysis, AnalysisFailure>] {
        do {
            return try await analyze(turns, states: &states, attempts: configuration.maxAttempts).map { .success($0) }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return try await bisect(turns, states: &states, error: error)
        }
    }

    func bisect(_ turns: [TimedTurn], states: inout [String: Analyzer.State], error: any Error) async throws
        -> [Result<TurnAnalysis, AnalysisFailure>] {
        guard turns.count > 1 else {
            logger.error("turn failed analysis; dead-lettering it", metadata: [
                "dialogue.id": "\(turns.first?.turn.dialogueID ?? "")", "error": "\(error)",
            ])
            return turns.map { _ in .failure(AnalysisFailure(reason: "\(error)")) }
        }
        var out: [Result<TurnAnalysis, AnalysisFailure>] = []
        let mid = turns.count / 2
        for half in [Array(turns[..<mid]), Array(turns[mid...])] {
            do {
                out += try await analyze(half, states: &states, attempts: 1).map { .success($0) }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                out += try await bisect(half, states: &states, error: error)
            }
        }
        return out
    }

    func analyze(_ turns: [TimedTurn], states: inout [String: Analyzer.State], attempts: Int) async throws -> [TurnAnalysis] {
        var attempt = 0
        while true {
            attempt += 1
            let snapshot = states
            let analyzer = self.analyzer
            do {
                // The arithmetic runs on a thread of its own, off the cooperative pool.
                let (out, newStates) = try await runBlocking("plutchik.analysis", stackSize: 8 << 20) {
                    var s = snapshot
                    let out = try analyzer.analyze(turns, states: &s)
                    return (out, s)
                }
                states = newStates
                return out
            } catch {
                guard attempt < attempts else { throw error }
                logger.warning("analysis failed; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try await Task.sleep(for: backoff(attempt))
            }
        }
    }
}
