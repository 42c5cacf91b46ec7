import Foundation
import Kafka

/// The live dialogues' state, bounded in count and age.
///
/// A plain state machine: no I/O, no clock of its own. Each dialogue's state is a record of bytes
/// (the same bytes `dialogue_state` stores, so loading and saving are copies) in a fixed-size slot
/// of a ``DialogueSlab``, found by its id through the slab's own index: no per-dialogue heap
/// objects, about 1 KB a dialogue.
///
/// When it holds more than `maxDialogues`, it evicts the least recently used 1% at once
/// (amortising the cost); ``evictIdle(now:)`` and ``evictIdle(watermarks:newestOffsets:)`` drop
/// dialogues idle longer than `idleTTL` (but not those among their partition's last
/// `recentRecords` records). Every evicted dialogue is remembered (its id, partition and last turn's
/// time; at most `maxDialogues` of them, the earliest evicted forgotten first) so that when it
/// comes back within its own window (its next turn at most `idleTTL` after its last, in its own
/// turns' times) the processor reloads its state from PostgreSQL (``takeEvicted(_:)``). A
/// partition's watermark says when the partition's dialogues went quiet, not when one of them did:
/// in a backfill whose dialogues are not in time order, a dialogue still under way may lie
/// further back than the partition's newest turn, and its next turn keeps its context.
///
/// Each operation costs time in proportion to what it touches and what expires, not to the live
/// dialogues: the slab keeps the live dialogues in order of use (the cap), a min-heap per partition
/// with lazy deletion orders them by last turn time (idle expiry), and a queue orders the remembered
/// ones by eviction (their bound). A heap element is live while the slab or `remembered` still
/// holds the same partition and time (or eviction) for it; stale ones are dropped when they
/// surface, and a heap is rebuilt when stale elements outnumber live ones.
public struct DialogueStore: Sendable {
    /// One dialogue's entry.
    public struct Entry: Sendable {
        /// The dialogue's state record.
        public var state: [UInt8]
        public var source: KafkaTopicPartition
        /// The offset of the last turn applied to `state`.
        public var lastOffset: Int64
        /// The time of the last turn applied (the turn's own timestamp).
        public var lastTurnAt: Date
    }

    /// An evicted dialogue: where its state came from and its last turn's time.
    public struct Evicted: Sendable, Equatable {
        public var source: KafkaTopicPartition
        public var lastTurnAt: Date
    }

    public let maxDialogues: Int
    public let idleTTL: TimeInterval
    /// A dialogue whose last turn lies fewer records than this behind its partition's newest is
    /// not evicted as idle: in a backfill it is still under way, whatever the times say.
    public let recentRecords: Int64
    private var slab: DialogueSlab
    /// Partitions by number, as the slab stores them.
    private var partitions: [KafkaTopicPartition] = []
    private var partitionNumbers: [KafkaTopicPartition: Int32] = [:]
    /// Evicted dialogues not live again, with the operation that evicted them; at most
    /// `maxDialogues` (an id and a time each, far smaller than a live dialogue's state).
    private var remembered: [String: (evicted: Evicted, operation: Int)] = [:]
    /// Counts the operations that evict.
    private var operation = 0
    /// Remembered dialogues in the order they are forgotten: earliest operation, then oldest last turn, then id.
    private var forgetting = KeyedMinHeap<EvictionKey, String>()
    /// Dialogues evicted so far, for metrics.
    public private(set) var evictions = 0
    /// Live dialogues by last turn time, per partition number (idle expiry).
    private var liveByTurn: [Int32: KeyedMinHeap<Date, Int32>] = [:]
    private var liveByTurnCount = 0

    /// The evicted dialogues remembered (not live again).
    public var evicted: [String: Evicted] { remembered.mapValues(\.evicted) }

    /// - Parameter slotBytes: bytes of a dialogue's slot: its id and state record (larger ones are
    ///   kept aside, at the cost of a heap allocation each).
    public init(maxDialogues: Int = 100_000, idleTTL: TimeInterval = 30 * 60, recentRecords: Int64 = 1_000, slotBytes: Int = 64) {
        self.maxDialogues = max(1, maxDialogues)
        self.idleTTL = idleTTL
        self.recentRecords = recentRecords
        slab = DialogueSlab(payloadBytes: slotBytes)
    }

    public var count: Int { slab.count }

    /// The entry of a dialogue, marking it used.
    public mutating func entry(_ dialogueID: String) -> Entry? {
        guard let s = slab.slot(of: dialogueID) else { return nil }
        slab.touch(s)
        return Entry(state: slab.record(s), source: partitions[Int(slab.source(s))],
                     lastOffset: slab.lastOffset(s), lastTurnAt: slab.lastTurnAt(s))
    }

    /// Stores a dialogue's state after a turn; evicts the least recently used if over capacity.
    public mutating func put(_ dialogueID: String, state: [UInt8], source: KafkaTopicPartition, lastOffset: Int64, lastTurnAt: Date) {
        let p = number(source)
        if let s = slab.slot(of: dialogueID) {
            slab.touch(s)
            slab.setRecord(s, state)
            slab.setLastOffset(s, lastOffset)
            if slab.source(s) != p || slab.lastTurnAt(s) != lastTurnAt {
                slab.setSource(s, p)
                slab.setLastTurnAt(s, lastTurnAt)
                pushLive(s)
            }
        } else {
            pushLive(slab.insert(dialogueID, record: state, source: p, lastOffset: lastOffset, lastTurnAt: lastTurnAt))
        }
        remembered[dialogueID] = nil
        if slab.count > maxDialogues {
            operation += 1
            var n = max(1, maxDialogues / 100, slab.count - maxDialogues)
            while n > 0, slab.leastRecent >= 0 {
                evict(slab.leastRecent)
                n -= 1
            }
            forgetBeyondBound()
        }
        compactIfStale()
    }

    /// Which of the dialogues in `firstTurnAt` (each with the time of its first turn in hand) are
    /// remembered and come back within their window, forgetting every one asked about that is not
    /// live: the caller reloads the state of those returned. One that comes back later starts a
    /// fresh window anyway.
    public mutating func takeEvicted(_ firstTurnAt: [String: Date]) -> [String] {
        var out: [String] = []
        for (id, at) in firstTurnAt where slab.slot(of: id) == nil {
            guard let r = remembered.removeValue(forKey: id) else { continue }
            if at.timeIntervalSince(r.evicted.lastTurnAt) <= idleTTL { out.append(id) }
        }
        compactIfStale()
        return out.sorted()
    }

    /// Removes live slot `s`, remembering its dialogue.
    private mutating func evict(_ s: Int32) {
        let id = slab.id(s), evicted = Evicted(source: partitions[Int(slab.source(s))], lastTurnAt: slab.lastTurnAt(s))
        remembered[id] = (evicted, operation)
        forgetting.push(EvictionKey(operation: operation, lastTurnAt: evicted.lastTurnAt, id: id), id)
        slab.remove(s)
        evictions += 1
    }

    /// Forgets remembered dialogues beyond `maxDialogues`, down to 99 % of it (amortising the work):
    /// those evicted earliest first.
    private mutating func forgetBeyondBound() {
        guard remembered.count > maxDialogues else { return }
        var forget = remembered.count - maxDialogues + maxDialogues / 100
        while forget > 0, let (key, id) = forgetting.pop() {
            guard remembered[id]?.operation == key.operation, remembered[id]?.evicted.lastTurnAt == key.lastTurnAt else { continue }
            remembered[id] = nil
            forget -= 1
        }
    }

    /// Evicts dialogues whose last turn is older than `idleTTL` before `now`; returns how many.
    @discardableResult
    public mutating func evictIdle(now: Date) -> Int {
        expire(partitions.map { ($0, now, nil) })
    }

    /// Evicts dialogues whose last turn is more than `idleTTL` older than the newest turn seen on
    /// their partition (event time: a backlog of old turns keeps its windows), except those whose
    /// last turn lies fewer than `recentRecords` behind the partition's newest offset
    /// (`newestOffsets`); returns how many. They are remembered like those the cap evicts.
    @discardableResult
    public mutating func evictIdle(watermarks: [KafkaTopicPartition: Date], newestOffsets: [KafkaTopicPartition: Int64] = [:]) -> Int {
        expire(watermarks.map { ($0.key, $0.value, newestOffsets[$0.key]) })
    }

    /// Pops each partition's heap while its oldest turn lies more than `idleTTL` before the mark,
    /// putting back those still recent by offset.
    private mutating func expire(_ marks: [(KafkaTopicPartition, Date, Int64?)]) -> Int {
        let before = evictions
        operation += 1
        for (p, mark, newest) in marks {
            guard let n = partitionNumbers[p], var heap = liveByTurn.removeValue(forKey: n) else { continue }
            var recent: [(Date, Int32)] = []
            while let (t, s) = heap.peek(), mark.timeIntervalSince(t) > idleTTL {
                heap.removeFirst()
                guard slab.occupied(s), slab.source(s) == n, slab.lastTurnAt(s) == t else { liveByTurnCount -= 1; continue }
                if let newest, newest - slab.lastOffset(s) < recentRecords { recent.append((t, s)) } else { liveByTurnCount -= 1; evict(s) }
            }
            for (t, s) in recent { heap.push(t, s) }
            if !heap.isEmpty { liveByTurn[n] = heap }
        }
        forgetBeyondBound()
        compactIfStale()
        return evictions - before
    }

    /// Gives every live dialogue the state `record`, keeping its source, offset and times (after a
    /// model swap: the old model's states mean nothing to the new one). Returns how many were reset.
    public mutating func resetStates(to record: [UInt8]) -> Int {
        for s in slab.occupiedSlots { slab.setRecord(s, record) }
        return slab.count
    }

    /// Drops the dialogues last seen on these partitions (on revocation).
    public mutating func remove(partitions removed: Set<KafkaTopicPartition>) {
        let numbers = Set(removed.compactMap { partitionNumbers[$0] })
        for s in slab.occupiedSlots where numbers.contains(slab.source(s)) { slab.remove(s) }
        remembered = remembered.filter { !removed.contains($0.value.evicted.source) }
        for n in numbers { liveByTurnCount -= liveByTurn.removeValue(forKey: n)?.count ?? 0 }
        compactIfStale()
    }

    private mutating func number(_ p: KafkaTopicPartition) -> Int32 {
        if let n = partitionNumbers[p] { return n }
        let n = Int32(partitions.count)
        partitions.append(p)
        partitionNumbers[p] = n
        return n
    }

    private mutating func pushLive(_ s: Int32) {
        liveByTurn[slab.source(s), default: KeyedMinHeap()].push(slab.lastTurnAt(s), s)
        liveByTurnCount += 1
    }

    /// Rebuilds heaps once their stale elements outnumber the live ones (amortised O(1) per operation).
    private mutating func compactIfStale() {
        if liveByTurnCount > 2 * slab.count + 1_024 {
            var heaps: [Int32: [(Date, Int32)]] = [:]
            for s in slab.occupiedSlots { heaps[slab.source(s), default: []].append((slab.lastTurnAt(s), s)) }
            liveByTurn = heaps.mapValues { KeyedMinHeap($0) }
            liveByTurnCount = slab.count
        }
        if forgetting.count > 2 * remembered.count + 1_024 {
            forgetting = KeyedMinHeap(remembered.map { (EvictionKey(operation: $0.value.operation, lastTurnAt: $0.value.evicted.lastTurnAt, id: $0.key), $0.key) })
        }
    }
}

/// The order remembered dialogues are forgotten in: by the operation that evicted them, then by
/// their last turn's time, then by id (so it does not depend on the order of evictions within one
/// operation).
struct EvictionKey: Comparable, Sendable {
    var operation: Int
    var lastTurnAt: Date
    var id: String

    static func < (a: Self, b: Self) -> Bool { (a.operation, a.lastTurnAt, a.id) < (b.operation, b.lastTurnAt, b.id) }
}

/// A binary min-heap of (key, dialogue): its id, or its slot.
struct KeyedMinHeap<Key: Comparable & Sendable, ID: Sendable>: Sendable {
    private var items: [(key: Key, id: ID)] = []

    init() {}

    init(_ elements: [(Key, ID)]) {
        items = elements.map { (key: $0.0, id: $0.1) }
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }

    func peek() -> (Key, ID)? { items.first.map { ($0.key, $0.id) } }

    mutating func push(_ key: Key, _ id: ID) {
        items.append((key, id))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].key < items[parent].key else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Key, ID)? {
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
