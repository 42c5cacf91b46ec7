import AuditStore
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import Tracing

/// The stream processor: turns in, events, alerts and audits out, offsets committed last.
///
/// Per micro-batch: validate (invalid records go to the dead-letter topic), re-publish turns already
/// audited (a replay after a crash, recognised by offset and by dialogue and turn id; no
/// recomputation), analyze the rest, publish events and alerts and wait for their delivery reports
/// (retrying only what failed), write audits and dialogue state in one PostgreSQL transaction, and
/// only then commit the batch's offsets. A crash at any point therefore loses no turn and
/// duplicates no audit; a duplicated event repeats an `event_id` already published. Every record
/// ends as an event plus an audit row or as a dead letter with a reason: only dependency failures
/// (broker, database) are retried, and nothing a record holds can stop the processor.
///
/// The stages, in the order data flows through them (record → turn → batch → embeddings → heads →
/// ODE → event/audit → commit): `StreamProcessor+Intake` (records into batches),
/// `StreamProcessor+Analysis` (validation, analysis, dialogue state), `StreamProcessor+Finish`
/// (publish, audit, commit); beside them `StreamProcessor+State` (state loads and replays) and
/// `StreamProcessor+Retry` (dependency failures).
public actor StreamProcessor<Analyzer: TurnAnalyzer>: Service {
    public let configuration: PipelineConfiguration
    /// The model behind the processor.
    nonisolated public let analyzer: Analyzer
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let writer: AuditWriter
    let logger: Logger
    /// Per-tenant settings (text hashing here; the model analyzer applies the thresholds).
    nonisolated public let tenantPolicies: TenantPolicyStore
    /// A candidate model scoring every analyzed turn into `emotion_audit_shadow` only.
    nonisolated public let shadow: ShadowScorer?
    /// Traces each analyzed turn as a span, child of the trace context its record carries, and
    /// puts the span's context on its event and alert. Without one, a record's `traceparent` is
    /// passed on unchanged.
    nonisolated let tracer: (any Tracer)?
    /// Told each batch's audit rows once their transaction has committed (the live web view).
    nonisolated let onAudited: (@Sendable ([AuditRow]) -> Void)?
    var dialogues: DialogueStore
    var assigned: Set<KafkaTopicPartition> = []
    /// Set once an assignment (even an empty one) is handled; cleared when partitions are lost.
    var joinedGroup = false
    /// Why the last database or broker call failed, until one succeeds again.
    var lastFailure: String?
    /// Partitions paused while a dependency is down.
    var paused: [KafkaTopicPartition] = []
    /// The newest turn time seen per partition: the event-time clock for idle windows.
    var watermarks: [KafkaTopicPartition: Date] = [:]
    /// The newest offset analyzed on each partition (dialogues among its last records are not idle).
    var newestOffsets: [KafkaTopicPartition: Int64] = [:]
    /// When each record of the batch being collected arrived (for latency figures).
    var receivedAt: [ContinuousClock.Instant] = []
    /// Seconds of inference per turn, smoothed over recent batches; sizes the next batch.
    var secondsPerTurn = 0.003
    /// When dormant dialogue states were last pruned (first after the first batch).
    var lastPrune: ContinuousClock.Instant?
    /// The previous batch's publish, audit and commit, running while the next batch is analyzed.
    /// The finisher (``finishPending()``), and the prepared batches it has yet to finish.
    var inFlight: Task<Void, any Error>?
    var pending: [PreparedBatch] = []
    var finisherRunning = false
    var progress: ProgressWatch
    var stallLogged = false
    let metrics = PipelineMetrics()
    /// Counters for the progress line and tests.
    public internal(set) var stats = Stats()

    /// What the processor has done so far.
    public struct Stats: Sendable {
        public var turns = 0
        public var events = 0
        public var replayed = 0
        public var deadLettered = 0
        public var alerts = 0
        public var batches = 0
        /// Rounds of publish-and-wait, transaction and commit: fewer than `batches` once a backlog
        /// made the finish stage coalesce batches.
        public var finishRounds = 0
        /// Turns stamped too far ahead of the processing clock to move the watermark.
        public var skewed = 0
        /// Stored dialogue states dropped on load (another format or model, or unreadable).
        public var droppedStates = 0
        /// Replayed offsets whose audit was another turn's (or missing): analysed anew.
        public var replayMismatches = 0
        /// Models swapped in between batches, and the dialogue states reset by those swaps.
        public var modelSwaps = 0
        public var resetStates = 0
        /// Per-turn seconds from consume to delivery acknowledgement, when
        /// ``PipelineConfiguration/recordLatencies`` is on (benchmarks).
        public var latencies: [Double] = []
    }

    public init(configuration: PipelineConfiguration, analyzer: Analyzer, consumer: KafkaConsumer,
                producer: KafkaProducer, writer: AuditWriter, logger: Logger,
                tenantPolicies: TenantPolicyStore = TenantPolicyStore(), shadow: ShadowScorer? = nil, tracer: (any Tracer)? = nil,
                onAudited: (@Sendable ([AuditRow]) -> Void)? = nil) {
        self.tenantPolicies = tenantPolicies
        self.onAudited = onAudited
        self.shadow = shadow
        self.tracer = tracer
        var configuration = configuration
        // The validator must know what the producer will refuse.
        configuration.validator.maxMessageBytes = min(configuration.validator.maxMessageBytes, producer.messageMaxBytes)
        self.configuration = configuration
        self.analyzer = analyzer
        self.consumer = consumer
        self.producer = producer
        self.writer = writer
        self.logger = logger
        // A slot holds a typical state and an id of up to 16 bytes, or a UUID packed into 16 (larger
        // ones fit while the state is smaller, else are kept aside, at the cost of two allocations).
        dialogues = DialogueStore(maxDialogues: configuration.maxLiveDialogues, idleTTL: configuration.windowIdle,
                                  recentRecords: configuration.recentRecords, slotBytes: analyzer.stateBytes + 16 + 3)
        progress = ProgressWatch(limit: configuration.stallTimeout)
    }

    /// Whether this instance is ready for traffic: it has joined its consumer group and loaded the
    /// state of what it was assigned (which may be nothing: a group can have more members than
    /// partitions), and its last database and broker calls succeeded.
    public struct Readiness: Sendable {
        public var ready: Bool
        /// Whether the last rebalance has been handled (assignment received and state loaded).
        public var joinedGroup: Bool
        public var assignedPartitions: Int
        public var liveDialogues: Int
        public var failure: String?
    }

    /// The current ``Readiness``.
    public func readiness() -> Readiness {
        Readiness(ready: joinedGroup && lastFailure == nil, joinedGroup: joinedGroup, assignedPartitions: assigned.count,
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
                        try await enqueueFinish(try await prepare(batch))
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
}

/// Milliseconds, for log metadata.
func ms(_ d: Duration) -> Int { Int(d / .milliseconds(1)) }
