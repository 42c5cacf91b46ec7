import Synchronization

/// Failed authentications per client address: past `limit` in a minute, the address is refused
/// (429) until that minute is over, whatever key it tries next. Bounded in addresses: when full,
/// addresses whose minute is over are dropped first, then the oldest.
final class AuthThrottle: Sendable {
    struct Window {
        var start: ContinuousClock.Instant
        var failures: Int
    }

    private let windows = Mutex<[String: Window]>([:])
    let limit: Int
    let window: Duration
    let maxAddresses: Int

    init(limit: Int, window: Duration = .seconds(60), maxAddresses: Int = 100_000) {
        self.limit = max(1, limit)
        self.window = window
        self.maxAddresses = max(1, maxAddresses)
    }

    /// Seconds until `address` may try again, or nil when it may now.
    func retryAfter(_ address: String, now: ContinuousClock.Instant = .now) -> Int? {
        windows.withLock { w in
            guard let entry = w[address], entry.failures >= limit else { return nil }
            let left = entry.start + window - now
            guard left > .zero else {
                w[address] = nil
                return nil
            }
            return max(1, Int(left.components.seconds) + 1)
        }
    }

    /// Counts a failed authentication from `address`.
    func fail(_ address: String, now: ContinuousClock.Instant = .now) {
        windows.withLock { w in
            if var entry = w[address], now - entry.start < window {
                entry.failures += 1
                w[address] = entry
                return
            }
            if w.count >= maxAddresses {
                w = w.filter { now - $0.value.start < window }
                if w.count >= maxAddresses, let oldest = w.min(by: { $0.value.start < $1.value.start }) { w[oldest.key] = nil }
            }
            w[address] = Window(start: now, failures: 1)
        }
    }
}
