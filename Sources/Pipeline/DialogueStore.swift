import Foundation
import Kafka

/// The live dialogues' state, bounded in count and age.
///
/// A plain state machine: no I/O, no clock of its own. When it holds more than `maxDialogues`,
/// it evicts the least recently used 1% at once (amortising the cost); ``evictIdle(now:)``
/// and ``evictIdle(watermarks:)`` drop dialogues idle longer than `idleTTL`. A dialogue evicted by
/// the cap is remembered (``takeCapEvicted(_:)``) until its window would have idled anyway, so the
/// processor can reload its state from PostgreSQL when it comes back; one evicted as idle starts a
/// fresh window.
public struct DialogueStore<State: Sendable>: Sendable {
    /// One dialogue's entry.
    public struct Entry: Sendable {
        public var state: State
        public var source: KafkaTopicPartition
        /// The offset of the last turn applied to `state`.
        public var lastOffset: Int64
        /// The time of the last turn applied (the turn's own timestamp).
        public var lastTurnAt: Date
        var lastUsed: UInt64
    }

    /// A dialogue the cap evicted: where its state came from and its last turn's time.
    public struct Evicted: Sendable, Equatable {
        public var source: KafkaTopicPartition
        public var lastTurnAt: Date
    }

    public let maxDialogues: Int
    public let idleTTL: TimeInterval
    private var entries: [String: Entry] = [:]
    /// Dialogues the cap evicted whose window has not idled yet; at most 10 × `maxDialogues` (an
    /// id and a time each, far smaller than a live dialogue's state).
    public private(set) var capEvicted: [String: Evicted] = [:]
    private var tick: UInt64 = 0
    /// Dialogues evicted so far, for metrics.
    public private(set) var evictions = 0

    public init(maxDialogues: Int = 100_000, idleTTL: TimeInterval = 30 * 60) {
        self.maxDialogues = max(1, maxDialogues)
        self.idleTTL = idleTTL
    }

    public var count: Int { entries.count }

    /// The entry of a dialogue, marking it used.
    public mutating func entry(_ dialogueID: String) -> Entry? {
        guard var e = entries[dialogueID] else { return nil }
        tick += 1
        e.lastUsed = tick
        entries[dialogueID] = e
        return e
    }

    /// Stores a dialogue's state after a turn; evicts the least recently used if over capacity.
    public mutating func put(_ dialogueID: String, state: State, source: KafkaTopicPartition, lastOffset: Int64, lastTurnAt: Date) {
        tick += 1
        entries[dialogueID] = Entry(state: state, source: source, lastOffset: lastOffset, lastTurnAt: lastTurnAt, lastUsed: tick)
        capEvicted[dialogueID] = nil
        if entries.count > maxDialogues {
            let n = max(1, maxDialogues / 100, entries.count - maxDialogues)
            let oldest = entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(n)
            for (id, e) in oldest {
                entries[id] = nil
                capEvicted[id] = Evicted(source: e.source, lastTurnAt: e.lastTurnAt)
            }
            evictions += oldest.count
            if capEvicted.count > 10 * maxDialogues {
                // Forget the longest idle first, down to 99 % (amortising the sort).
                let forget = capEvicted.count - 10 * maxDialogues + maxDialogues / 10
                for (id, _) in capEvicted.sorted(by: { $0.value.lastTurnAt < $1.value.lastTurnAt }).prefix(forget) { capEvicted[id] = nil }
            }
        }
    }

    /// Which of `dialogueIDs` the cap evicted (and are not live again), forgetting them: the caller
    /// reloads their state.
    public mutating func takeCapEvicted(_ dialogueIDs: some Sequence<String>) -> [String] {
        var out: [String] = []
        for id in Set(dialogueIDs) where entries[id] == nil && capEvicted.removeValue(forKey: id) != nil { out.append(id) }
        return out.sorted()
    }

    /// Drops dialogues whose last turn is older than `idleTTL` before `now`; returns how many.
    @discardableResult
    public mutating func evictIdle(now: Date) -> Int {
        let before = entries.count
        entries = entries.filter { now.timeIntervalSince($0.value.lastTurnAt) <= idleTTL }
        capEvicted = capEvicted.filter { now.timeIntervalSince($0.value.lastTurnAt) <= idleTTL }
        evictions += before - entries.count
        return before - entries.count
    }

    /// Drops dialogues whose last turn is more than `idleTTL` older than the newest turn seen on
    /// their partition (event time: a backlog of old turns keeps its windows); returns how many.
    @discardableResult
    public mutating func evictIdle(watermarks: [KafkaTopicPartition: Date]) -> Int {
        let before = entries.count
        func live(_ source: KafkaTopicPartition, _ lastTurnAt: Date) -> Bool {
            guard let mark = watermarks[source] else { return true }
            return mark.timeIntervalSince(lastTurnAt) <= idleTTL
        }
        entries = entries.filter { live($0.value.source, $0.value.lastTurnAt) }
        capEvicted = capEvicted.filter { live($0.value.source, $0.value.lastTurnAt) }
        evictions += before - entries.count
        return before - entries.count
    }

    /// Drops the dialogues last seen on these partitions (on revocation).
    public mutating func remove(partitions: Set<KafkaTopicPartition>) {
        entries = entries.filter { !partitions.contains($0.value.source) }
        capEvicted = capEvicted.filter { !partitions.contains($0.value.source) }
    }
}
