/// Tells a stalled processor from an idle one, for `/healthz`.
///
/// There is work while records are in hand (taken into a batch and not yet finished) or the
/// consumer's lag, last read at the start of a batch, is positive. The processor is stalled when
/// it has had work for longer than `limit` without finishing a batch. Waiting on a failed
/// dependency is not a stall: the processor reports that itself, and a restart would not help;
/// the clock restarts when the dependency is back.
struct ProgressWatch: Sendable {
    let limit: Duration
    /// When the last batch finished, or when work appeared after a time without any.
    private var since: ContinuousClock.Instant
    private var lag = 0
    private var held = 0

    init(limit: Duration, now: ContinuousClock.Instant = .now) {
        self.limit = limit
        since = now
    }

    private var hasWork: Bool { lag > 0 || held > 0 }

    mutating func lagRead(_ lag: Int, at now: ContinuousClock.Instant = .now) {
        if !hasWork && lag > 0 { since = now }
        self.lag = lag
    }

    /// Records taken into a batch.
    mutating func taken(_ count: Int, at now: ContinuousClock.Instant = .now) {
        if !hasWork && count > 0 { since = now }
        held += count
    }

    /// Records dropped from a batch unprocessed (their partitions were lost).
    mutating func dropped(_ count: Int) {
        held = max(0, held - count)
    }

    /// A batch of `count` records finished.
    mutating func finished(_ count: Int, at now: ContinuousClock.Instant = .now) {
        held = max(0, held - count)
        since = now
    }

    /// A dependency came back after failing: the wait for it was not a stall, so the clock restarts.
    mutating func dependencyRecovered(at now: ContinuousClock.Instant = .now) {
        since = now
    }

    /// How long the processor has had work without finishing a batch, if longer than `limit`.
    func stalled(at now: ContinuousClock.Instant = .now) -> Duration? {
        hasWork && now - since > limit ? now - since : nil
    }
}
