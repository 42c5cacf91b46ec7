import Foundation
import Kafka
import Testing
@testable import Pipeline

/// The live-dialogue store's eviction rules, and what it remembers of the dialogues it evicts.
@Suite struct DialogueStoreTests {
    let p0 = KafkaTopicPartition(topic: "t", partition: 0), p1 = KafkaTopicPartition(topic: "t", partition: 1)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func theCapEvictsTheLeastRecentlyUsedAndRemembersThem() {
        var store = DialogueStore(maxDialogues: 2, idleTTL: 60, slotBytes: 16)
        store.put("a", state: [1], source: p0, lastOffset: 0, lastTurnAt: t0)
        store.put("b", state: [2], source: p1, lastOffset: 1, lastTurnAt: t0)
        _ = store.entry("a")
        store.put("c", state: [3], source: p0, lastOffset: 2, lastTurnAt: t0)
        #expect(store.count == 2 && store.entry("b") == nil && store.entry("a")?.state == [1])
        #expect(store.evicted == ["b": .init(source: p1, lastTurnAt: t0)])
        #expect(store.evictions == 1)
        // Taken once, and only for dialogues not live: the caller reloads them.
        #expect(store.takeEvicted(["a": t0, "b": t0.addingTimeInterval(5), "z": t0]) == ["b"])
        #expect(store.takeEvicted(["b": t0]).isEmpty && store.evicted.isEmpty)
    }

    @Test func aDialogueLiveAgainIsForgotten() {
        var store = DialogueStore(maxDialogues: 1, idleTTL: 60, slotBytes: 16)
        store.put("a", state: [1], source: p0, lastOffset: 0, lastTurnAt: t0)
        store.put("b", state: [2], source: p0, lastOffset: 1, lastTurnAt: t0)
        #expect(Set(store.evicted.keys) == ["a"])
        store.put("a", state: [5], source: p0, lastOffset: 2, lastTurnAt: t0)
        #expect(Set(store.evicted.keys) == ["b"])
    }

    /// A partition's newest turn idles the dialogues far behind it, but a dialogue that comes back
    /// within its own window (a backfill whose dialogues are not in time order) is reloaded; one
    /// that comes back later is not (it starts a fresh window anyway), and is forgotten either way.
    @Test func idleDialoguesAreRememberedAndJudgedByTheirOwnTurns() {
        var store = DialogueStore(maxDialogues: 10, idleTTL: 60, slotBytes: 16)
        let monthLater = t0.addingTimeInterval(30 * 86_400)
        store.put("april", state: [1], source: p0, lastOffset: 0, lastTurnAt: t0)
        store.put("may", state: [2], source: p0, lastOffset: 1, lastTurnAt: monthLater)
        store.put("other", state: [3], source: p1, lastOffset: 0, lastTurnAt: t0)
        #expect(store.evictIdle(watermarks: [p0: monthLater]) == 1)
        #expect(store.count == 2 && store.entry("april") == nil && store.evicted == ["april": .init(source: p0, lastTurnAt: t0)])
        // Its next turn, 20 s after its last: reload.
        #expect(store.takeEvicted(["april": t0.addingTimeInterval(20), "may": monthLater]) == ["april"])
        store.evictIdle(now: monthLater.addingTimeInterval(61))
        #expect(store.count == 0 && Set(store.evicted.keys) == ["may", "other"])
        // A turn beyond the window: no reload, and forgotten.
        #expect(store.takeEvicted(["may": monthLater.addingTimeInterval(61)]).isEmpty)
        store.remove(partitions: [p1])
        #expect(store.evicted.isEmpty)
    }

    /// A dialogue among its partition's last `recentRecords` records is still under way, whatever
    /// its turns' times: it stays live until the partition has moved on.
    @Test func recentDialoguesAreNotIdle() {
        var store = DialogueStore(maxDialogues: 10, idleTTL: 60, recentRecords: 5, slotBytes: 16)
        let monthLater = t0.addingTimeInterval(30 * 86_400)
        store.put("april", state: [1], source: p0, lastOffset: 10, lastTurnAt: t0)
        store.put("may", state: [2], source: p0, lastOffset: 11, lastTurnAt: monthLater)
        #expect(store.evictIdle(watermarks: [p0: monthLater], newestOffsets: [p0: 14]) == 0 && store.count == 2)
        #expect(store.evictIdle(watermarks: [p0: monthLater], newestOffsets: [p0: 15]) == 1 && store.entry("april") == nil)
        #expect(store.evicted == ["april": .init(source: p0, lastTurnAt: t0)])
    }

    @Test func rememberedDialoguesAreBoundedByTheCap() {
        var store = DialogueStore(maxDialogues: 3, idleTTL: 3600, slotBytes: 16)
        for i in 0..<50 { store.put("d\(i)", state: [UInt8(i)], source: p0, lastOffset: Int64(i), lastTurnAt: t0.addingTimeInterval(Double(i))) }
        #expect(store.count == 3 && store.evicted.count == 3)
        // The most recently evicted are kept.
        #expect(Set(store.evicted.keys) == Set((44..<47).map { "d\($0)" }))
    }
}

/// The slab's index, payloads and use order against a dictionary and a list, on random inserts,
/// removals, updates and touches (ids and records sometimes too long for a slot).
@Suite struct DialogueSlabTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func agreesWithADictionary(seed: UInt64) {
        var rng = seed &* 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((rng >> 33) % UInt64(n))
        }
        var slab = DialogueSlab(payloadBytes: 24)
        var expected: [String: [UInt8]] = [:]
        var order: [String] = []   // least recently used first
        for step in 0..<30_000 {
            let n = next(3_000)
            // Short ids, long ones, and UUIDs in each case (packed into 16 bytes) or mixed (not).
            let uuid = String(format: "%08x-0000-4000-8000-%012x", n, n &* 2_654_435_761 % 0xFFFF_FFFF_FFFF)
            let id = [uuid, uuid.uppercased(), "dialogue-with-a-long-id-\(n)", "d\(n)", "A" + uuid.dropFirst()][n % 5]
            let record = (0..<next(30)).map { UInt8(truncatingIfNeeded: step &+ $0) }
            switch (slab.slot(of: id), next(4)) {
            case (nil, 0...2):
                _ = slab.insert(id, record: record, source: 0, lastOffset: Int64(step), lastTurnAt: Date())
                expected[id] = record
                order.append(id)
            case (let s?, 0):
                slab.remove(s)
                expected[id] = nil
                order.removeAll { $0 == id }
            case (let s?, 1):
                slab.setRecord(s, record)
                expected[id] = record
            case (let s?, _):
                slab.touch(s)
                order.removeAll { $0 == id }
                order.append(id)
            default:
                break
            }
            if step % 997 == 0 || step == 29_999 {
                #expect(slab.count == expected.count)
                for (id, record) in expected {
                    guard let s = slab.slot(of: id) else { Issue.record("\(id) lost at step \(step)"); return }
                    #expect(slab.id(s) == id && slab.record(s) == record)
                }
                #expect(slab.leastRecent < 0 ? order.isEmpty : slab.id(slab.leastRecent) == order.first)
            }
        }
    }
}

@Suite struct UUIDBytesTests {
    @Test(arguments: ["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
                      "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"])
    func roundTrips(id: String) throws {
        let packed = try #require(UUIDBytes(id))
        #expect(packed.string == id)
        var bytes = [UInt8](repeating: 0, count: 17)
        bytes.withUnsafeMutableBytes { packed.store(to: $0.baseAddress!) }
        let loaded = bytes.withUnsafeBytes { UUIDBytes(marker: $0[0], loading: $0.baseAddress! + 1) }
        #expect(loaded == packed)
    }

    @Test(arguments: ["123e4567-E89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000",
                      "123e4567-e89b-12d3-a456-42661417400g", "123e4567-e89b-12d3-a456-4266141740000", ""])
    func leavesOtherIDsAlone(id: String) {
        #expect(UUIDBytes(id) == nil)
    }

    /// A UUID-keyed dialogue fits a slot with 16 bytes for its id: no oversized entry.
    @Test func uuidFitsASixteenByteIDSlot() {
        var slab = DialogueSlab(payloadBytes: 10 + 16 + 3)
        let id = "123e4567-e89b-12d3-a456-426614174000"
        let s = slab.insert(id, record: Array(repeating: 7, count: 10), source: 0, lastOffset: 0, lastTurnAt: Date())
        #expect(slab.oversizedCount == 0)
        #expect(slab.slot(of: id) == s && slab.slot(of: id.uppercased()) == nil && slab.id(s) == id)
        #expect(slab.record(s) == Array(repeating: 7, count: 10))
    }
}

/// The store against the straightforward implementation it replaced (whole-map filters and sorts),
/// on random operation sequences: both must agree after every step.
@Suite struct DialogueStorePropertyTests {
    @Test(arguments: [(1, UInt64(1)), (3, 2), (20, 3), (200, 4)])
    func agreesWithTheReference(maxDialogues: Int, seed: UInt64) {
        var rng = seed &* 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((rng >> 33) % UInt64(n))
        }
        let partitions = (0..<3).map { KafkaTopicPartition(topic: "t", partition: Int32($0)) }
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        var store = DialogueStore(maxDialogues: maxDialogues, idleTTL: 60, recentRecords: 50, slotBytes: 16)
        var reference = ReferenceDialogueStore<[UInt8]>(maxDialogues: maxDialogues, idleTTL: 60, recentRecords: 50)
        var clock = 0.0
        for step in 0..<20_000 {
            // Every seventh id is too long for a 16-byte slot, like the longer records.
            let n = next(3 * maxDialogues + 5)
            let id = n % 7 == 0 ? "a-rather-long-dialogue-id-\(n)" : "d\(n)"
            switch next(100) {
            case 0..<55:
                clock += Double(next(10)) + Double(next(1_000_000)) / 1_000_000
                // Now and then a turn from the past (a backlog) or a repeated time.
                let t = next(10) == 0 ? clock - Double(next(200)) : clock
                let p = partitions[next(3)]
                // Records of 0–24 bytes: the longer ones do not fit a 16-byte slot and are kept aside.
                let state = (0..<(step % 25)).map { UInt8(truncatingIfNeeded: step &+ $0) }
                store.put(id, state: state, source: p, lastOffset: Int64(step), lastTurnAt: base.addingTimeInterval(t))
                reference.put(id, state: state, source: p, lastOffset: Int64(step), lastTurnAt: base.addingTimeInterval(t))
            case 55..<75:
                let a = store.entry(id), b = reference.entry(id)
                #expect(a?.state == b?.state && a?.lastTurnAt == b?.lastTurnAt && a?.source == b?.source, "step \(step)")
            case 75..<85:
                var turns: [String: Date] = [:]
                for _ in 0..<3 { turns["d\(next(3 * maxDialogues + 5))"] = base.addingTimeInterval(clock - Double(next(200))) }
                #expect(store.takeEvicted(turns) == reference.takeEvicted(turns), "step \(step)")
            case 85..<95:
                var marks: [KafkaTopicPartition: Date] = [:]
                for p in partitions where next(3) > 0 { marks[p] = base.addingTimeInterval(clock - Double(next(120))) }
                // Sometimes with the partitions' newest offsets: dialogues among their last 50 records stay.
                var newest: [KafkaTopicPartition: Int64] = [:]
                for p in partitions where next(2) == 0 { newest[p] = Int64(step) }
                #expect(store.evictIdle(watermarks: marks, newestOffsets: newest) == reference.evictIdle(watermarks: marks, newestOffsets: newest),
                        "step \(step)")
            case 95..<98:
                let now = base.addingTimeInterval(clock + Double(next(60)))
                #expect(store.evictIdle(now: now) == reference.evictIdle(now: now), "step \(step)")
            default:
                let p = partitions[next(3)]
                store.remove(partitions: [p])
                reference.remove(partitions: [p])
            }
            #expect(store.count == reference.count && store.evictions == reference.evictions, "step \(step)")
            let remembered = store.evicted.mapValues { "\($0.source) \($0.lastTurnAt.timeIntervalSince1970)" }
            let expected = reference.evicted.mapValues { "\($0.source) \($0.lastTurnAt.timeIntervalSince1970)" }
            #expect(remembered == expected, "step \(step)")
            if store.count != reference.count || remembered != expected { return }
        }
    }
}

/// The store in its plainest form: every eviction a whole-map filter or sort. The reference for
/// `DialogueStorePropertyTests`.
struct ReferenceDialogueStore<State: Sendable>: Sendable {
    /// One dialogue's entry.
    struct Entry: Sendable {
        var state: State
        var source: KafkaTopicPartition
        /// The offset of the last turn applied to `state`.
        var lastOffset: Int64
        /// The time of the last turn applied (the turn's own timestamp).
        var lastTurnAt: Date
        var lastUsed: UInt64
    }

    /// An evicted dialogue: where its state came from and its last turn's time.
    struct Evicted: Sendable, Equatable {
        var source: KafkaTopicPartition
        var lastTurnAt: Date
    }

    let maxDialogues: Int
    let idleTTL: TimeInterval
    let recentRecords: Int64
    private var entries: [String: Entry] = [:]
    /// Evicted dialogues not live again, each with the operation that evicted it; at most `maxDialogues`.
    private var remembered: [String: (evicted: Evicted, operation: Int)] = [:]
    private var operation = 0
    private var tick: UInt64 = 0
    /// Dialogues evicted so far, for metrics.
    private(set) var evictions = 0

    init(maxDialogues: Int = 100_000, idleTTL: TimeInterval = 30 * 60, recentRecords: Int64 = 1_000) {
        self.maxDialogues = max(1, maxDialogues)
        self.idleTTL = idleTTL
        self.recentRecords = recentRecords
    }

    var count: Int { entries.count }
    var evicted: [String: Evicted] { remembered.mapValues(\.evicted) }

    /// The entry of a dialogue, marking it used.
    mutating func entry(_ dialogueID: String) -> Entry? {
        guard var e = entries[dialogueID] else { return nil }
        tick += 1
        e.lastUsed = tick
        entries[dialogueID] = e
        return e
    }

    /// Removes the dialogues `ids` (one operation), remembering them; then forgets those evicted
    /// earliest (by operation, last turn time, id) beyond `maxDialogues`, down to 99 %.
    private mutating func evict(_ ids: [String]) {
        operation += 1
        for id in ids {
            let e = entries.removeValue(forKey: id)!
            remembered[id] = (Evicted(source: e.source, lastTurnAt: e.lastTurnAt), operation)
            evictions += 1
        }
        if remembered.count > maxDialogues {
            let forget = remembered.count - maxDialogues + maxDialogues / 100
            let order = remembered.sorted { ($0.value.operation, $0.value.evicted.lastTurnAt, $0.key) < ($1.value.operation, $1.value.evicted.lastTurnAt, $1.key) }
            for (id, _) in order.prefix(forget) { remembered[id] = nil }
        }
    }

    /// Stores a dialogue's state after a turn; evicts the least recently used if over capacity.
    mutating func put(_ dialogueID: String, state: State, source: KafkaTopicPartition, lastOffset: Int64, lastTurnAt: Date) {
        tick += 1
        entries[dialogueID] = Entry(state: state, source: source, lastOffset: lastOffset, lastTurnAt: lastTurnAt, lastUsed: tick)
        remembered[dialogueID] = nil
        if entries.count > maxDialogues {
            let n = max(1, maxDialogues / 100, entries.count - maxDialogues)
            evict(entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(n).map(\.key))
        }
    }

    /// The remembered dialogues among `firstTurnAt` (not live) whose turn comes within their window,
    /// forgetting every remembered one asked about.
    mutating func takeEvicted(_ firstTurnAt: [String: Date]) -> [String] {
        var out: [String] = []
        for (id, at) in firstTurnAt where entries[id] == nil {
            guard let r = remembered.removeValue(forKey: id) else { continue }
            if at.timeIntervalSince(r.evicted.lastTurnAt) <= idleTTL { out.append(id) }
        }
        return out.sorted()
    }

    /// Evicts dialogues whose last turn is older than `idleTTL` before `now`; returns how many.
    @discardableResult
    mutating func evictIdle(now: Date) -> Int {
        evictIdle(watermarks: Dictionary(uniqueKeysWithValues: Set(entries.values.map(\.source)).map { ($0, now) }))
    }

    /// Evicts dialogues whose last turn is more than `idleTTL` older than the newest turn seen on
    /// their partition, but for those fewer than `recentRecords` behind its newest offset; returns how many.
    @discardableResult
    mutating func evictIdle(watermarks: [KafkaTopicPartition: Date], newestOffsets: [KafkaTopicPartition: Int64] = [:]) -> Int {
        let ids = entries.filter { e in
            guard let mark = watermarks[e.value.source], mark.timeIntervalSince(e.value.lastTurnAt) > idleTTL else { return false }
            return newestOffsets[e.value.source].map { $0 - e.value.lastOffset >= recentRecords } ?? true
        }.map(\.key)
        evict(ids)
        return ids.count
    }

    /// Drops the dialogues last seen on these partitions (on revocation).
    mutating func remove(partitions: Set<KafkaTopicPartition>) {
        entries = entries.filter { !partitions.contains($0.value.source) }
        remembered = remembered.filter { !partitions.contains($0.value.evicted.source) }
    }
}
