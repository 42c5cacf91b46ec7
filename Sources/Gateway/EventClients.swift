import Synchronization

/// The live pages' event streams open, per tenant and in all, each capped: a stream over either cap
/// is refused (429) before it starts.
final class EventClients: Sendable {
    struct Counts {
        var total = 0
        var byTenant: [String: Int] = [:]
    }

    private let counts = Mutex(Counts())
    let maxTotal: Int
    let maxPerTenant: Int

    init(maxTotal: Int, maxPerTenant: Int) {
        self.maxTotal = max(1, maxTotal)
        self.maxPerTenant = max(1, maxPerTenant)
    }

    /// Counts a new stream of `tenant`'s, unless a cap is reached (then false).
    func admit(_ tenant: String) -> Bool {
        counts.withLock { c in
            guard c.total < maxTotal, c.byTenant[tenant, default: 0] < maxPerTenant else { return false }
            c.total += 1
            c.byTenant[tenant, default: 0] += 1
            return true
        }
    }

    /// A stream of `tenant`'s has ended.
    func release(_ tenant: String) {
        counts.withLock { c in
            c.total -= 1
            c.byTenant[tenant, default: 1] -= 1
            if c.byTenant[tenant] == 0 { c.byTenant[tenant] = nil }
        }
    }

    /// The streams open.
    var total: Int { counts.withLock { $0.total } }
}
