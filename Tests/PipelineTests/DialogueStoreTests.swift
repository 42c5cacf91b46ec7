import Foundation
import Kafka
import Testing
@testable import Pipeline

/// The live-dialogue store's eviction rules, and what it remembers of dialogues the cap evicted.
@Suite struct DialogueStoreTests {
    let p0 = KafkaTopicPartition(topic: "t", partition: 0), p1 = KafkaTopicPartition(topic: "t", partition: 1)
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func theCapEvictsTheLeastRecentlyUsedAndRemembersThem() {
        var store = DialogueStore<Int>(maxDialogues: 2, idleTTL: 60)
        store.put("a", state: 1, source: p0, lastOffset: 0, lastTurnAt: t0)
        store.put("b", state: 2, source: p1, lastOffset: 1, lastTurnAt: t0)
        _ = store.entry("a")
        store.put("c", state: 3, source: p0, lastOffset: 2, lastTurnAt: t0)
        #expect(store.count == 2 && store.entry("b") == nil && store.entry("a")?.state == 1)
        #expect(store.capEvicted == ["b": .init(source: p1, lastTurnAt: t0)])
        #expect(store.evictions == 1)
        // Taken once, and only for dialogues not live: the caller reloads them.
        #expect(store.takeCapEvicted(["a", "b", "b", "z"]) == ["b"])
        #expect(store.takeCapEvicted(["b"]).isEmpty && store.capEvicted.isEmpty)
    }

    @Test func aDialogueLiveAgainIsForgotten() {
        var store = DialogueStore<Int>(maxDialogues: 1, idleTTL: 60)
        store.put("a", state: 1, source: p0, lastOffset: 0, lastTurnAt: t0)
        store.put("b", state: 2, source: p0, lastOffset: 1, lastTurnAt: t0)
        #expect(Set(store.capEvicted.keys) == ["a"])
        store.put("a", state: 5, source: p0, lastOffset: 2, lastTurnAt: t0)
        #expect(Set(store.capEvicted.keys) == ["b"])
    }

    @Test func rememberedDialoguesIdleAndMoveAwayLikeLiveOnes() {
        var store = DialogueStore<Int>(maxDialogues: 2, idleTTL: 60)
        let later = t0.addingTimeInterval(100)
        store.put("a", state: 1, source: p0, lastOffset: 0, lastTurnAt: t0)
        store.put("b", state: 2, source: p1, lastOffset: 0, lastTurnAt: t0)
        store.put("c", state: 3, source: p0, lastOffset: 1, lastTurnAt: later)
        store.put("d", state: 4, source: p0, lastOffset: 2, lastTurnAt: later)
        #expect(Set(store.capEvicted.keys) == ["a", "b"])
        // Partition 0's newest turn is 100 s after a's last, so a's window has idled; b's partition has no mark.
        store.evictIdle(watermarks: [p0: later])
        #expect(Set(store.capEvicted.keys) == ["b"] && store.count == 2)
        store.remove(partitions: [p1])
        #expect(store.capEvicted.isEmpty)
        store.evictIdle(now: later.addingTimeInterval(61))
        #expect(store.count == 0)
    }

    @Test func rememberedDialoguesAreBoundedByTheCap() {
        var store = DialogueStore<Int>(maxDialogues: 3, idleTTL: 3600)
        for i in 0..<50 { store.put("d\(i)", state: i, source: p0, lastOffset: Int64(i), lastTurnAt: t0.addingTimeInterval(Double(i))) }
        #expect(store.count == 3 && store.capEvicted.count == 30)
        // The most recently evicted are kept.
        #expect(Set(store.capEvicted.keys) == Set((17..<47).map { "d\($0)" }))
    }
}
