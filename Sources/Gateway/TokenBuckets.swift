import Synchronization

/// A token bucket per caller, in turns analyzed: each caller may spend `burst` turns at once and
/// `rate` a second after that. Bounded in callers (the tenants that have keys, in practice).
final class TokenBuckets: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    let rate: Double
    let burst: Double

    init(rate: Double, burst: Double) {
        self.rate = max(rate, 0)
        self.burst = max(burst, 1)
    }

    /// Takes `cost` tokens from `caller`'s bucket; nil when taken, else the seconds until they
    /// would be there. A cost over the burst is charged as the whole burst.
    func take(_ cost: Int, from caller: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard rate.isFinite else { return nil }
        let cost = min(Double(cost), burst)
        return buckets.withLock { b in
            var bucket = b[caller] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            bucket.tokens = min(burst, bucket.tokens + rate * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            bucket.updated = now
            defer { b[caller] = bucket }
            guard bucket.tokens >= cost else {
                return rate > 0 ? max(1, Int(((cost - bucket.tokens) / rate).rounded(.up))) : 60
            }
            bucket.tokens -= cost
            return nil
        }
    }
}
