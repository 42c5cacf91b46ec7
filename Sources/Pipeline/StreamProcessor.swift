import AuditStore
import Contracts
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// The stream processor: turns in, events, alerts and audits out, offsets committed last.
///
/// Per micro-batch: validate (invalid records go to the dead-letter topic), re-publish turns already
/// audited (a replay after a crash; no recomputation), analyze the rest, publish events and alerts
/// and wait for their delivery reports, write audits and dialogue state in one PostgreSQL
/// transaction, and only then commit the batch's offsets. A crash at any point therefore loses
/// no turn and duplicates no audit; a duplicated event repeats an `event_id` already published.
public actor StreamProcessor<Analyzer: TurnAnalyzer>: Service {
    public let configuration: PipelineConfiguration
    let analyzer: Analyzer
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let writer: AuditWriter
    let logger: Logger
    private var dialogues: DialogueStore<Analyzer.State>
    private var assigned: Set<KafkaTopicPartition> = []
    /// Why the last database or broker call failed, until one succeeds again.
    private var lastFailure: String?
    /// Partitions paused while a dependency is down.
    private var paused: [KafkaTopicPartition] = []
    /// The newest turn time seen per partition: the event-time clock for idle windows.
    private var watermarks: [KafkaTopicPartition: Date] = [:]
    /// When each record of the batch being collected arrived (for latency figures).
    private var receivedAt: [ContinuousClock.Instant] = []
    /// Seconds of inference per turn, smoothed over recent batches; sizes the next batch.
    private var secondsPerTurn = 0.003
    /// When dormant dialogue states were last pruned (first after the first batch).
    private var lastPrune: ContinuousClock.Instant?
    /// The previous batch's publish, audit and commit, running while the next batch is analyzed.
    private var inFlight: Task<Void, any Error>?
    private var progress: ProgressWatch
    private var stallLogged = false
    private let metrics = PipelineMetrics()
    /// Counters for the progress line and tests.
    public private(set) var stats = Stats()

    /// What the processor has done so far.
    public struct Stats: Sendable {
        public var turns = 0
        public var events = 0
        public var replayed = 0
        public var deadLettered = 0
        public var alerts = 0
        public var batches = 0
        /// Per-turn seconds from consume to delivery acknowledgement, when
        /// ``PipelineConfiguration/recordLatencies`` is on (benchmarks).
        public var latencies: [Double] = []
    }

    public init(configuration: PipelineConfiguration, analyzer: Analyzer, consumer: KafkaConsumer,
                producer: KafkaProducer, writer: AuditWriter, logger: Logger) {
        self.configuration = configuration
        self.analyzer = analyzer
        self.consumer = consumer
        self.producer = producer
        self.writer = writer
        self.logger = logger
        dialogues = DialogueStore(maxDialogues: configuration.maxLiveDialogues, idleTTL: configuration.windowIdle)
        progress = ProgressWatch(limit: configuration.stallTimeout)
    }

    /// Whether this instance is ready for traffic: it holds partitions, their state is loaded, and
    /// its last database and broker calls succeeded.
    public struct Readiness: Sendable {
        public var ready: Bool
        public var assignedPartitions: Int
        public var liveDialogues: Int
        public var failure: String?
    }

    /// The current ``Readiness``.
    public func readiness() -> Readiness {
        Readiness(ready: !assigned.isEmpty && lastFailure == nil, assignedPartitions: assigned.count,
                  liveDialogues: dialogues.count, failure: lastFailure)
    }

    /// Nil while the processor makes progress; otherwise how long it has had records waiting without
    /// finishing a batch, once that exceeds ``PipelineConfiguration/stallTimeout`` (waiting on a
    /// failed dependency does not count). `/healthz` fails then, so an orchestrator restarts the
    /// instance and its uncommitted records are read again.
    public func stall() -> Duration? {
        guard lastFailure == nil, let d = progress.stalled() else {
            stallLogged = false
            return nil
        }
        if !stallLogged {
            stallLogged = true
            logger.error("processor stalled: records waiting and no batch finished", metadata: ["stall.seconds": "\(Int(d / .seconds(1)))"])
        }
        return d
    }

    /// Runs until graceful shutdown: then stops fetching, finishes the in-flight batch, flushes,
    /// commits and leaves the group.
    public func run() async throws {
        let stop = StopFlag()
        try await withGracefulShutdownHandler {
            do {
                while !stop.isSet {
                    let batch = try await nextBatch(stop: stop)
                    if !batch.isEmpty {
                        // Batch N+1's inference overlaps batch N's publishing, auditing and commit;
                        // those stay strictly in batch order.
                        let prepared = try await prepare(batch)
                        try await drainInFlight()
                        inFlight = Task { try await self.finish(prepared) }
                    }
                }
                try await drainInFlight()
            } catch let e as KafkaError where e.code == .closed {
                // Closed underneath us: what was in flight is not committed and will be read again.
            }
            try await producer.close()
            await consumer.close()
        } onGracefulShutdown: {
            stop.set()
        }
    }

    /// Collects up to `maxBatchSize` records, waiting at most `maxBatchWait` after the first.
    /// Rebalance events are handled in order; a revocation first finishes the records collected so far.
    private func nextBatch(stop: StopFlag) async throws -> [KafkaRecord] {
        var batch: [KafkaRecord] = []
        var deadline: ContinuousClock.Instant?
        // Under a real backlog latency is queueing anyway, so take full batches for throughput;
        // otherwise cap the batch at the inference budget, for latency.
        let lag = (try? consumer.lag()) ?? [:]
        for (tp, n) in lag { metrics.lag(tp).record(n) }
        let backlog = lag.values.reduce(0, +)
        progress.lagRead(Int(backlog))
        let budget = configuration.batchInferenceBudget / .seconds(1)
        let size = backlog > Int64(4 * configuration.maxBatchSize)
            ? configuration.maxBatchSize
            : min(configuration.maxBatchSize, max(1, Int(budget / secondsPerTurn)))
        while batch.count < size && !stop.isSet {
            let wait = deadline.map { max(.zero, $0 - .now) } ?? .milliseconds(100)
            guard let event = try await consumer.nextEvent(timeout: wait) else {
                if deadline != nil { break }
                continue
            }
            switch event {
            case .record(let r):
                batch.append(r)
                progress.taken(1)
                if configuration.recordLatencies { receivedAt.append(.now) }
                if deadline == nil { deadline = .now + configuration.maxBatchWait }
            case .partitionsAssigned(let ps):
                try await loadStates(for: ps)
            case .partitionsRevoked(let ps), .partitionsLost(let ps):
                if case .partitionsLost = event {
                    // The group moved on without us (e.g. the session timed out while the broker
                    // was unreachable): these records may already be another member's, and
                    // librdkafka does not finish the rebalance (nor answer a commit) until we
                    // return. Drop them uncommitted: the next owner re-reads them, audits are
                    // idempotent and replays re-publish the audited events.
                    let lost = Set(ps)
                    let keep = batch.indices.filter { !lost.contains(batch[$0].topicPartition) }
                    progress.dropped(batch.count - keep.count)
                    if configuration.recordLatencies && receivedAt.count == batch.count { receivedAt = keep.map { receivedAt[$0] } }
                    batch = keep.map { batch[$0] }
                    logger.warning("partitions lost; their uncommitted records are left to the next owner",
                                   metadata: ["kafka.partitions": "\(ps)"])
                }
                // Finish what was collected, and what is in flight, before giving the partitions
                // up; the consumer waits for our next call before it unassigns.
                try await drainInFlight()
                if !batch.isEmpty {
                    try await finish(prepare(batch))
                    batch.removeAll()
                    deadline = nil
                }
                assigned.subtract(ps)
                dialogues.remove(partitions: Set(ps))
            }
        }
        return batch
    }

    private func loadStates(for partitions: [KafkaTopicPartition]) async throws {
        assigned.formUnion(partitions)
        var byTopic: [String: [Int32]] = [:]
        for p in partitions { byTopic[p.topic, default: []].append(p.partition) }
        var loaded = 0
        // Dialogues at or past the committed offset may be replayed, so they load whatever their age.
        let committed = (try? await consumer.committed(partitions)) ?? [:]
        let window = configuration.windowIdle
        for (topic, ps) in byTopic {
            let offsets = Dictionary(uniqueKeysWithValues: ps.map { p in (p, committed[KafkaTopicPartition(topic: topic, partition: p)] ?? nil) })
            let rows = try await retrying("load dialogue state") {
                try await self.writer.loadStates(topic: topic, partitions: offsets, window: window)
            }
            for row in rows {
                guard let state = try? analyzer.decode(row.state) else {
                    logger.warning("dialogue state unreadable; starting fresh", metadata: ["dialogue.id": "\(row.dialogueID)"])
                    continue
                }
                dialogues.put(row.dialogueID, state: state,
                              source: KafkaTopicPartition(topic: topic, partition: row.sourcePartition),
                              lastOffset: row.lastOffset, lastTurnAt: row.lastTurnAt ?? Date())
                loaded += 1
            }
        }
        logger.info("dialogue state loaded", metadata: ["kafka.partitions": "\(partitions)", "dialogue.count": "\(loaded)"])
    }

    /// Reloads from `dialogue_state` the dialogues among `dialogueIDs` that the live-dialogue cap
    /// evicted, so a returning dialogue keeps its window. Their last state may belong to the batch
    /// in flight, so that is audited first (only when a reload is due). Returns the reloaded entries.
    private func reloadCapEvicted(_ dialogueIDs: Set<String>) async throws -> [String: DialogueStore<Analyzer.State>.Entry] {
        let ids = dialogues.takeCapEvicted(dialogueIDs)
        guard !ids.isEmpty else { return [:] }
        try await drainInFlight()
        let rows = try await retrying("reload evicted dialogue state") {
            try await self.writer.loadStates(topic: self.configuration.inputTopic, dialogueIDs: ids)
        }
        var reloaded: [String: DialogueStore<Analyzer.State>.Entry] = [:]
        for row in rows {
            guard let state = try? analyzer.decode(row.state) else {
                logger.warning("dialogue state unreadable; starting fresh", metadata: ["dialogue.id": "\(row.dialogueID)"])
                continue
            }
            let e = DialogueStore<Analyzer.State>.Entry(state: state, source: KafkaTopicPartition(topic: row.sourceTopic, partition: row.sourcePartition),
                                                        lastOffset: row.lastOffset, lastTurnAt: row.lastTurnAt ?? Date(), lastUsed: 0)
            dialogues.put(row.dialogueID, state: e.state, source: e.source, lastOffset: e.lastOffset, lastTurnAt: e.lastTurnAt)
            reloaded[row.dialogueID] = e
        }
        metrics.reloadedDialogues.increment(by: Int64(reloaded.count))
        logger.debug("evicted dialogue state reloaded", metadata: ["dialogue.count": "\(reloaded.count)", "dialogue.asked": "\(ids.count)"])
        return reloaded
    }

    /// One record's fate within a batch.
    private enum Item {
        case invalid(KafkaRecord, DeadLetterReason)
        case replay(KafkaRecord)
        case fresh(KafkaRecord, TimedTurn)
    }

    /// Waits for the batch in flight, rethrowing its failure.
    private func drainInFlight() async throws {
        guard let task = inFlight else { return }
        inFlight = nil
        try await task.value
    }

    /// A batch analyzed and ready to publish, audit and commit.
    private struct PreparedBatch: Sendable {
        var records: [KafkaRecord]
        /// Dead letters and re-published (replayed) events.
        var messages: [KafkaProducerMessage]
        var analyzed: [(record: KafkaRecord, turn: TimedTurn, analysis: TurnAnalysis)]
        /// Each dialogue's state after its last analyzed turn in the batch, for `dialogue_state`.
        var states: [(dialogueID: String, record: KafkaRecord, turnAt: Date, state: Analyzer.State)]
        var processedAt: Date
        var receivedAt: [ContinuousClock.Instant]
        var started: ContinuousClock.Instant
        var replayed = 0, deadLettered = 0
    }

    /// Validates and analyzes a batch, and advances the in-memory dialogue state (the next batch
    /// may need it before this one is audited). Encoding its events and audit rows is left to
    /// ``finish(_:)``, which runs while the next batch is analyzed.
    private func prepare(_ records: [KafkaRecord]) async throws -> PreparedBatch {
        let now = Date()
        let started = ContinuousClock.now
        let receivedAt = self.receivedAt
        self.receivedAt.removeAll(keepingCapacity: true)
        // 1. Validate; bring back dialogues the live-dialogue cap evicted; spot replays of turns
        // already applied.
        let validated = records.map { r in
            Result { () throws(DeadLetterReason) in try configuration.validator.validate(r.value, recordTimestampMs: r.timestampMs, now: now) }
        }
        // The batch's dialogues are looked up once, before the reload: putting reloaded dialogues
        // into the store may evict others of this batch.
        let ids = Set(validated.compactMap { try? $0.get().turn.dialogueID })
        var known: [String: DialogueStore<Analyzer.State>.Entry] = [:]
        for id in ids { known[id] = dialogues.entry(id) }
        known.merge(try await reloadCapEvicted(ids)) { live, _ in live }
        var items: [Item] = []
        for (r, v) in zip(records, validated) {
            switch v {
            case .success(let turn):
                if let e = known[turn.turn.dialogueID], e.source == r.topicPartition, e.lastOffset >= r.offset {
                    items.append(.replay(r))
                } else {
                    items.append(.fresh(r, turn))
                }
            case .failure(let error):
                items.append(.invalid(r, error))
            }
        }

        // 2. Analyze the fresh turns, carrying each dialogue's state.
        var fresh: [(KafkaRecord, TimedTurn)] = []
        for case .fresh(let r, let t) in items { fresh.append((r, t)) }
        var states: [String: Analyzer.State] = [:]
        for (_, t) in fresh where states[t.turn.dialogueID] == nil {
            if let e = known[t.turn.dialogueID],
               t.timestamp.timeIntervalSince(e.lastTurnAt) <= configuration.windowIdle {
                states[t.turn.dialogueID] = e.state
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

        // 3. Dead letters now; events, alerts and audit rows in `finish`.
        var messages: [KafkaProducerMessage] = []
        var dlq = 0
        for case .invalid(let r, let e) in items {
            messages.append(deadLetter(r, code: e.code, reason: e.reason))
            metrics.deadLettered(e.code).increment()
            dlq += 1
        }
        // Turns the model failed on even after retries and bisection go to the dead-letter topic
        // rather than blocking their partitions; the rest of the batch goes on.
        var analyzed: [(record: KafkaRecord, turn: TimedTurn, analysis: TurnAnalysis)] = []
        for ((r, timed), result) in zip(fresh, results) {
            switch result {
            case .failure(let f):
                messages.append(deadLetter(r, code: "processing_failed", reason: f.reason))
                metrics.deadLettered("processing_failed").increment()
                dlq += 1
            case .success(let a):
                analyzed.append((r, timed, a))
            }
        }
        // The state after each dialogue's last analyzed turn in this batch.
        var lastTurn: [String: (KafkaRecord, Date)] = [:]
        for (r, t, _) in analyzed { lastTurn[t.turn.dialogueID] = (r, t.timestamp) }
        let finalStates = lastTurn.compactMap { id, last in states[id].map { (dialogueID: id, record: last.0, turnAt: last.1, state: $0) } }
        // Replays: re-publish the audited event unchanged.
        var replayed = 0
        let replays = items.compactMap { if case .replay(let r) = $0 { r } else { nil } }
        for (tp, rs) in Dictionary(grouping: replays, by: \.topicPartition) {
            let stored = try await retrying("load audited events") {
                try await self.writer.loadEvents(topic: tp.topic, partition: tp.partition, offsets: rs.map(\.offset))
            }
            for r in rs {
                if let json = stored[r.offset] {
                    messages.append(KafkaProducerMessage(topic: configuration.eventsTopic, key: r.key, value: Array(json.utf8)))
                    replayed += 1
                } else {
                    messages.append(deadLetter(r, code: "replay_missing_audit",
                                               reason: "offset is at or below the dialogue's applied state but has no audit row"))
                    dlq += 1
                }
            }
        }

        for (r, t, _) in analyzed {
            if let s = states[t.turn.dialogueID] {
                dialogues.put(t.turn.dialogueID, state: s, source: r.topicPartition, lastOffset: r.offset, lastTurnAt: t.timestamp)
            }
        }
        // Idle windows are judged in event time: the newest turn seen on each partition, not the
        // wall clock, so a backlog of old turns (after an outage, or a historical replay) keeps its
        // dialogues' context between batches.
        for (r, t) in fresh {
            watermarks[r.topicPartition] = max(watermarks[r.topicPartition] ?? t.timestamp, t.timestamp)
        }
        let evictedBefore = dialogues.evictions
        dialogues.evictIdle(watermarks: watermarks)
        metrics.evictions.increment(by: Int64(dialogues.evictions - evictedBefore))
        metrics.liveDialogues.record(dialogues.count)
        return PreparedBatch(records: records, messages: messages, analyzed: analyzed, states: finalStates, processedAt: now,
                             receivedAt: receivedAt, started: started, replayed: replayed, deadLettered: dlq)
    }

    /// Publishes a prepared batch and waits for every delivery report, writes its audits and
    /// dialogue state in one transaction, then commits its offsets.
    private func finish(_ b: PreparedBatch) async throws {
        let (built, audit, alerts) = try await encode(b)
        let messages = built + b.messages
        let t0 = ContinuousClock.now
        try await retrying("publish events") { _ = try await self.producer.sendAll(messages) }
        let t1 = ContinuousClock.now
        if configuration.recordLatencies {
            let acked = ContinuousClock.now
            for t in b.receivedAt { stats.latencies.append((acked - t) / .seconds(1)) }
        }
        if !audit.audits.isEmpty || !audit.states.isEmpty {
            try await retrying("write audits") { try await self.writer.write(audit) }
            metrics.auditWrite.record(duration: ContinuousClock.now - t1)
        }
        let t2 = ContinuousClock.now
        let records = b.records
        do {
            try await retrying("commit offsets") { try await self.consumer.commit(records) }
        } catch let e as KafkaError where e.meansPartitionsMoved {
            // The group moved on while this batch was in flight (its partitions were lost). The
            // batch is published and audited; the next owner re-reads it and replays from the audits.
            logger.warning("offsets not committed: the partitions moved to a new generation; the next owner replays them",
                           metadata: ["error": "\(e)"])
        }

        if let retention = configuration.stateRetention, lastPrune.map({ ContinuousClock.now - $0 > .seconds(3600) }) ?? true {
            lastPrune = .now
            do {
                let n = try await writer.pruneStates(olderThan: retention)
                logger.info("dormant dialogue states pruned", metadata: ["dialogue.count": "\(n)"])
            } catch {
                logger.warning("pruning dialogue states failed; will try again", metadata: ["error": "\(error)"])
            }
        }

        metrics.turns.increment(by: Int64(records.count))
        metrics.events.increment(by: Int64(b.analyzed.count))
        metrics.replayed.increment(by: Int64(b.replayed))
        metrics.escalations.increment(by: Int64(alerts))
        metrics.batchSize.record(records.count)
        metrics.batchLatency.record(duration: ContinuousClock.now - b.started)
        progress.finished(records.count)
        stats.batches += 1
        stats.turns += records.count
        stats.events += b.analyzed.count
        stats.replayed += b.replayed
        stats.deadLettered += b.deadLettered
        stats.alerts += alerts
        logger.debug("batch done", metadata: [
            "batch.size": "\(records.count)", "batch.dlq": "\(b.deadLettered)", "batch.replayed": "\(b.replayed)",
            "batch.alerts": "\(alerts)", "batch.publish_ms": "\(ms(t1 - t0))", "batch.audit_ms": "\(ms(t2 - t1))",
            "batch.commit_ms": "\(ms(ContinuousClock.now - t2))", "batch.total_ms": "\(ms(ContinuousClock.now - b.started))",
        ])
    }

    /// The batch's events and alerts as messages, its audit rows and dialogue states, and how many
    /// alerts it raised. Off the actor, so it overlaps the next batch's collection and analysis.
    private nonisolated func encode(_ b: PreparedBatch) async throws -> ([KafkaProducerMessage], AuditBatch, alerts: Int) {
        let encoder = EmotionEvent.encoder()
        let now = b.processedAt
        let version = analyzer.modelVersion
        var messages: [KafkaProducerMessage] = []
        var batch = AuditBatch()
        for (r, timed, analysis) in b.analyzed {
            let turn = timed.turn
            var event = EmotionEvent(turn: turn, prediction: analysis.prediction, modelVersion: version, processedAt: now)
            event.eventID = Self.eventID(r)
            event.ts = EmotionEvent.timestamp(timed.timestamp)
            event.escalation = analysis.escalation
            event.source = EmotionEvent.Source(topic: r.topic, partition: r.partition, offset: r.offset, timestampMs: r.timestampMs)
            let json = try encoder.encode(event)
            let key = Array(turn.dialogueID.utf8)
            messages.append(KafkaProducerMessage(topic: configuration.eventsTopic, key: key, value: Array(json)))
            let p = analysis.prediction
            batch.audits.append(AuditRow(
                eventID: event.eventID, sourceTopic: r.topic, sourcePartition: r.partition, sourceOffset: r.offset,
                dialogueID: turn.dialogueID, turnID: String(turn.turnID), speaker: turn.speaker, role: turn.role?.rawValue,
                tenant: turn.tenant, scenario: turn.scenario, topic: turn.topic, channel: turn.channel, text: turn.text,
                emotion: p.label.rawValue, confidence: p.confidence, sector: p.label.sector.name, ring: p.label.ring.rawValue,
                sarcasm: p.sarcasm, intensity: p.intensity, escalationRisk: analysis.escalation?.risk,
                escalationAlert: analysis.escalation?.alert ?? false, modelVersion: version,
                turnTimestamp: timed.timestamp, processedAt: now, eventJSON: String(decoding: json, as: UTF8.self)))
            if let esc = analysis.escalation, esc.alert {
                let alert = EscalationAlert(event: event, escalation: esc, raisedAt: now)
                let alertJSON = try encoder.encode(alert)
                messages.append(KafkaProducerMessage(topic: configuration.escalationsTopic, key: key, value: Array(alertJSON)))
                batch.escalations.append(EscalationRow(
                    eventID: event.eventID, dialogueID: turn.dialogueID, turnID: String(turn.turnID), tenant: turn.tenant,
                    risk: esc.risk, horizonSeconds: Float(esc.horizonSeconds), trend: esc.trend.rawValue,
                    alertJSON: String(decoding: alertJSON, as: UTF8.self), raisedAt: now))
            }
        }
        for (id, r, turnAt, s) in b.states {
            batch.states.append(DialogueStateRow(dialogueID: id, sourceTopic: r.topic, sourcePartition: r.partition,
                                                 lastOffset: r.offset, state: try analyzer.encode(s), lastTurnAt: turnAt))
        }
        return (messages, batch, batch.escalations.count)
    }

    /// Why the model gave up on one turn.
    struct AnalysisFailure: Error {
        var reason: String
    }

    /// Analyzes `turns`, retrying the whole batch up to `maxAttempts` times. If it still fails,
    /// bisects it (one attempt per half) so that only the turns that fail on their own are given
    /// up: a poison turn costs its batch about 2·log2(n) extra analyses, not its neighbours' events.
    /// `states` is only advanced by the turns that succeed.
    private func analyzeIsolating(_ turns: [TimedTurn], states: inout [String: Analyzer.State]) async throws
        -> [Result<TurnAnalysis, AnalysisFailure>] {
        do {
            return try await analyze(turns, states: &states, attempts: configuration.maxAttempts).map { .success($0) }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return try await bisect(turns, states: &states, error: error)
        }
    }

    private func bisect(_ turns: [TimedTurn], states: inout [String: Analyzer.State], error: any Error) async throws
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

    private func analyze(_ turns: [TimedTurn], states: inout [String: Analyzer.State], attempts: Int) async throws -> [TurnAnalysis] {
        var attempt = 0
        while true {
            attempt += 1
            let snapshot = states
            let analyzer = self.analyzer
            do {
                // The arithmetic runs on a thread of its own, off the cooperative pool.
                let (out, newStates) = try await runOnThread {
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

    private func deadLetter(_ r: KafkaRecord, code: String, reason: String) -> KafkaProducerMessage {
        KafkaProducerMessage(
            topic: configuration.deadLetterTopic, key: r.key, value: r.value,
            headers: r.headers + [
                KafkaHeader(key: "plutchik.error.code", string: code),
                KafkaHeader(key: "plutchik.error.reason", string: reason),
                KafkaHeader(key: "plutchik.source.topic", string: r.topic),
                KafkaHeader(key: "plutchik.source.partition", string: String(r.partition)),
                KafkaHeader(key: "plutchik.source.offset", string: String(r.offset)),
            ])
    }

    /// Retries a retriable failure with exponential backoff and jitter, without limit: a slow or
    /// absent database or broker holds the batch (and so the partitions) until it is back.
    private func retrying<T: Sendable>(_ what: String, _ body: @Sendable () async throws -> T) async throws -> T {
        var attempt = 0
        var succeeded = false
        // However the retries end (also with an error that is not retried, such as a commit refused
        // because the partitions moved), the partitions paused for them are resumed.
        defer { if attempt > 0 { endRetries(what, succeeded: succeeded) } }
        while true {
            do {
                let result = try await body()
                succeeded = true
                return result
            } catch let e as PostgresError where e.isRetriable {
                attempt += 1
                failed(what, "\(e)", attempt: attempt)
            } catch let e as KafkaError where e.isRetriable && !e.isFatal {
                attempt += 1
                failed(what, "\(e)", attempt: attempt)
            }
            try await Task.sleep(for: backoff(attempt))
        }
    }

    /// A dependency failed: pause fetching, so memory stays bounded while we wait for it.
    private func failed(_ what: String, _ error: String, attempt: Int) {
        metrics.retries.increment()
        lastFailure = "\(what): \(error)"
        if paused.isEmpty && !assigned.isEmpty {
            paused = Array(assigned)
            try? consumer.pause(paused)
        }
        logger.warning("dependency failed; retrying", metadata: [
            "pipeline.step": "\(what)", "error": "\(error)", "retry.attempt": "\(attempt)",
        ])
    }

    /// Retries ended: resume what ``failed(_:_:attempt:)`` paused. An error that ended them is
    /// the caller's to report.
    private func endRetries(_ what: String, succeeded: Bool) {
        lastFailure = nil
        progress.dependencyRecovered()
        if !paused.isEmpty {
            consumer.resume(paused)
            paused = []
        }
        if succeeded { logger.info("dependency recovered", metadata: ["pipeline.step": "\(what)"]) }
    }

    private func backoff(_ attempt: Int) -> Duration {
        let base = configuration.retryBackoff * (1 << min(attempt - 1, 6))
        return base * Double.random(in: 0.5...1.5)
    }
}

/// The escalation-alert message (`Schemas/escalation-alert.schema.json`).
struct EscalationAlert: Codable, Sendable {
    var eventID: String
    var dialogueID: String
    var turnID: Int
    var tenant: String?
    var scenario: String?
    var emotion: PlutchikEmotion
    var escalation: EscalationForecast
    var source: EmotionEvent.Source?
    var raisedAt: String

    init(event: EmotionEvent, escalation: EscalationForecast, raisedAt: Date) {
        eventID = event.eventID
        dialogueID = event.dialogueID
        turnID = event.turnID
        tenant = event.tenant
        scenario = event.scenario
        emotion = event.emotion.label
        self.escalation = escalation
        source = event.source
        self.raisedAt = EmotionEvent.timestamp(raisedAt)
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", dialogueID = "dialogue_id", turnID = "turn_id", tenant, scenario, emotion
        case escalation, source, raisedAt = "raised_at"
    }
}

extension StreamProcessor {
    /// `topic/partition/offset`: the turn's identity in Kafka, so consumers can de-duplicate.
    static func eventID(_ record: KafkaRecord) -> String {
        "\(record.topic)/\(record.partition)/\(record.offset)"
    }
}

extension KafkaError {
    /// The commit was refused because this member no longer owns the partitions in the current
    /// generation (its assignment was lost), not because a dependency is down.
    var meansPartitionsMoved: Bool {
        ["ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID", "_ASSIGNMENT_LOST"].contains(rdKafkaName ?? "")
    }
}

private func ms(_ d: Duration) -> Int { Int(d / .milliseconds(1)) }

/// A flag set from the graceful-shutdown handler.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// Runs CPU-heavy work on a thread of its own, off Swift's cooperative pool.
func runOnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
