import Foundation

/// Settings of ``StreamProcessor``, with the defaults of `plutchik run`.
public struct PipelineConfiguration: Sendable {
    /// The topic turns are read from; keyed by dialogue id.
    public var inputTopic = "plutchik.turns"
    /// Enriched emotion events, keyed by dialogue id.
    public var eventsTopic = "plutchik.emotions"
    /// Escalation alerts, keyed by dialogue id.
    public var escalationsTopic = "plutchik.escalations"
    /// Invalid records, redacted (the default policy, as text), with headers naming the error.
    public var deadLetterTopic = "plutchik.dlq"
    /// Dead letters keep the record's original bytes, unredacted (`dlq.keep_original`): what a
    /// reprocessing needs, at the cost of sensitive data in the dead-letter topic.
    public var deadLetterKeepsOriginal = false
    /// The most turns in one micro-batch.
    public var maxBatchSize = 32
    /// The longest a micro-batch's inference should take: the batch is capped at this budget divided
    /// by the measured time per turn (at most `maxBatchSize`), so a burst does not hold every turn
    /// behind one long batch.
    public var batchInferenceBudget: Duration = .milliseconds(30)
    /// The most prepared micro-batches published, audited and committed together: with a backlog
    /// the finish stage (publish-and-wait, the audit transaction, the commit) falls behind the
    /// analysis, and the batches that queue meanwhile share one round of each. When this many
    /// wait, the analysis waits for them. (On `bench pipeline --cached`, 8, 16 and 32 gave 9.4, 12.6
    /// and 13.6 times the encoder's rate; half-load latency does not move, since batches queue only
    /// behind a backlog.)
    public var maxCoalescedBatches = 16
    /// How long a micro-batch waits to fill once its first turn arrived.
    public var maxBatchWait: Duration = .milliseconds(10)
    /// Turns in a dialogue's context window.
    public var windowTurns = 8
    /// A dialogue idle longer than this (between its own turns' times) starts a new window and may
    /// be evicted. Give the ``ModelAnalyzer`` the same (`windowIdle:`).
    public var windowIdle: TimeInterval = Self.defaultWindowIdle
    public static let defaultWindowIdle: TimeInterval = 30 * 60
    /// A dialogue whose last turn lies fewer records than this behind its partition's newest is
    /// not evicted as idle, whatever the turns' times (a backfill need not be in time order).
    public var recentRecords: Int64 = 1_000
    /// How far ahead of the processing clock a turn's time may lie and still move its partition's
    /// event-time watermark (turns further ahead are processed, counted in
    /// `plutchik_turns_skewed_total`, and ignored by the watermark).
    public var watermarkSkew: TimeInterval = 5 * 60
    /// The most live dialogues held in memory.
    public var maxLiveDialogues = 100_000
    /// `dialogue_state` rows not written for this long are deleted, checked about hourly (nil keeps
    /// them forever). A dialogue that returns after that starts a fresh window, as it would anyway.
    public var stateRetention: TimeInterval? = 7 * 24 * 3600
    /// Months of `emotion_audit` kept, by turn time: older monthly partitions are dropped, checked
    /// about hourly (0 keeps every month). The partitions of the coming months are created then too.
    public var auditRetentionMonths = 0
    /// Record validation.
    public var validator = TurnValidator()
    /// How many times a failing batch is retried before its turns go to the dead-letter topic one by one.
    public var maxAttempts = 5
    /// The first retry delay; doubles per attempt, with jitter.
    public var retryBackoff: Duration = .milliseconds(200)

    /// How long the processor may have records waiting without finishing a batch before
    /// ``StreamProcessor/health()`` reports it stalled (retries on a failed dependency excepted).
    public var stallTimeout: Duration = .seconds(120)

    /// Keep every turn's consume-to-acknowledgement latency in ``StreamProcessor/Stats`` (benchmarks only).
    public var recordLatencies = false

    public init() {}
}
