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
///
/// Each operation costs time in proportion to what it touches and what expires, not to the live
/// dialogues: min-heaps with lazy deletion order the dialogues by last use (the cap), by last turn
/// time per partition (idle expiry) and the remembered ones by last turn time (their bound). A heap
/// element is live while the dictionaries still hold the same dialogue with the same key; stale
/// ones are dropped when they surface, and a heap is rebuilt when stale elements outnumber live ones.
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
    /// Live dialogues by last use (the cap's order).
    private var byUse = KeyedMinHeap<UInt64>()
    /// Live and remembered dialogues by last turn time, per partition (idle expiry).
    private var byTurn: [KafkaTopicPartition: KeyedMinHeap<Date>] = [:]
    private var byTurnCount = 0
    /// Remembered dialogues by last turn time (their bound forgets the longest idle first).
    private var forgetting = KeyedMinHeap<Date>()

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
        byUse.push(tick, dialogueID)
        compactIfStale()
        return e
    }

    /// Stores a dialogue's state after a turn; evicts the least recently used if over capacity.
    public mutating func put(_ dialogueID: String, state: State, source: KafkaTopicPartition, lastOffset: Int64, lastTurnAt: Date) {
        tick += 1
        let previous = entries.updateValue(Entry(state: state, source: source, lastOffset: lastOffset, lastTurnAt: lastTurnAt, lastUsed: tick),
                                           forKey: dialogueID)
        byUse.push(tick, dialogueID)
        if previous?.source != source || previous?.lastTurnAt != lastTurnAt {
            byTurn[source, default: KeyedMinHeap()].push(lastTurnAt, dialogueID)
            byTurnCount += 1
        }
        capEvicted[dialogueID] = nil
        if entries.count > maxDialogues {
            var n = max(1, maxDialogues / 100, entries.count - maxDialogues)
            while n > 0, let (used, id) = byUse.pop() {
                guard let e = entries[id], e.lastUsed == used else { continue }
                entries[id] = nil
                capEvicted[id] = Evicted(source: e.source, lastTurnAt: e.lastTurnAt)
                forgetting.push(e.lastTurnAt, id)
                evictions += 1
                n -= 1
            }
            if capEvicted.count > 10 * maxDialogues {
                // Forget the longest idle first, down to 99 % (amortising the work).
                var forget = capEvicted.count - 10 * maxDialogues + maxDialogues / 10
                while forget > 0, let (t, id) = forgetting.pop() {
                    guard capEvicted[id]?.lastTurnAt == t else { continue }
                    capEvicted[id] = nil
                    forget -= 1
                }
            }
        }
        compactIfStale()
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
        expire(byTurn.keys.map { ($0, now) })
    }

    /// Drops dialogues whose last turn is more than `idleTTL` older than the newest turn seen on
    /// their partition (event time: a backlog of old turns keeps its windows); returns how many.
    @discardableResult
    public mutating func evictIdle(watermarks: [KafkaTopicPartition: Date]) -> Int {
        expire(watermarks.filter { byTurn[$0.key] != nil }.map { ($0.key, $0.value) })
    }

    /// Pops each partition's heap while its oldest turn lies more than `idleTTL` before the mark.
    private mutating func expire(_ marks: [(KafkaTopicPartition, Date)]) -> Int {
        var evicted = 0
        for (p, mark) in marks {
            guard var heap = byTurn.removeValue(forKey: p) else { continue }
            while let (t, id) = heap.peek(), mark.timeIntervalSince(t) > idleTTL {
                heap.removeFirst()
                byTurnCount -= 1
                if let e = entries[id], e.source == p, e.lastTurnAt == t {
                    entries[id] = nil
                    evicted += 1
                } else if let r = capEvicted[id], r.source == p, r.lastTurnAt == t {
                    capEvicted[id] = nil
                }
            }
            if !heap.isEmpty { byTurn[p] = heap }
        }
        evictions += evicted
        return evicted
    }

    /// Gives every live dialogue `state`, keeping its source, offset and times (after a model
    /// swap: the old model's states mean nothing to the new one). Returns how many were reset.
    public mutating func resetStates(to state: State) -> Int {
        for id in entries.keys { entries[id]!.state = state }
        return entries.count
    }

    /// Drops the dialogues last seen on these partitions (on revocation).
    public mutating func remove(partitions: Set<KafkaTopicPartition>) {
        entries = entries.filter { !partitions.contains($0.value.source) }
        capEvicted = capEvicted.filter { !partitions.contains($0.value.source) }
        for p in partitions { byTurnCount -= byTurn.removeValue(forKey: p)?.count ?? 0 }
        compactIfStale()
    }

    /// Rebuilds a heap once its stale elements outnumber the live ones (amortised O(1) per operation).
    private mutating func compactIfStale() {
        if byUse.count > 2 * entries.count + 1_024 {
            byUse = KeyedMinHeap(entries.map { ($0.value.lastUsed, $0.key) })
        }
        if byTurnCount > 2 * (entries.count + capEvicted.count) + 1_024 {
            var heaps: [KafkaTopicPartition: [(Date, String)]] = [:]
            for (id, e) in entries { heaps[e.source, default: []].append((e.lastTurnAt, id)) }
            for (id, r) in capEvicted { heaps[r.source, default: []].append((r.lastTurnAt, id)) }
            byTurn = heaps.mapValues { KeyedMinHeap($0) }
            byTurnCount = entries.count + capEvicted.count
        }
        if forgetting.count > 2 * capEvicted.count + 1_024 {
            forgetting = KeyedMinHeap(capEvicted.map { ($0.value.lastTurnAt, $0.key) })
        }
    }
}

/// A binary min-heap of (key, dialogue id).
struct KeyedMinHeap<Key: Comparable & Sendable>: Sendable {
    private var items: [(key: Key, id: String)] = []

    init() {}

    init(_ elements: [(Key, String)]) {
        items = elements.map { (key: $0.0, id: $0.1) }
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }

    func peek() -> (Key, String)? { items.first.map { ($0.key, $0.id) } }

    mutating func push(_ key: Key, _ id: String) {
        items.append((key, id))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].key < items[parent].key else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Key, String)? {
        guard let top = peek() else { return nil }
        removeFirst()
        return top
    }

    mutating func removeFirst() {
        items.swapAt(0, items.count - 1)
        items.removeLast()
        if !items.isEmpty { siftDown(0) }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l].key < items[m].key { m = l }
            if r < items.count && items[r].key < items[m].key { m = r }
            guard m != i else { return }
            items.swapAt(i, m)
            i = m
        }
    }
}
