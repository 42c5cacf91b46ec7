import Foundation

/// Live dialogues in fixed-size slots: each slot's payload (the dialogue id's bytes and its state
/// record) in chunks of one contiguous buffer, its metadata in flat arrays, an open-addressing index
/// from id to slot, and a least-recently-used list threaded through the slots.
///
/// No per-dialogue heap objects: a dialogue costs its slot (`payloadBytes` plus 33 bytes of
/// metadata) and 8–16 bytes of index. A payload larger than a slot (an unusually long id or
/// speaker) is kept aside in a dictionary, so nothing is cut. Freed slots are reused.
struct DialogueSlab: Sendable {
    /// Slots per chunk (chunks are allocated whole and never moved, so growth copies nothing big).
    static let chunkSlots = 1_024

    /// Bytes of a slot's payload: the id's length (one byte), the id, the record's length (two bytes)
    /// and the record.
    let payloadBytes: Int
    private var chunks: [[UInt8]] = []
    /// Payloads that do not fit in their slot, by slot.
    private var oversized: [Int32: (id: String, record: [UInt8])] = [:]

    // Per-slot metadata.
    private(set) var occupied: [Bool] = []
    var source: [Int32] = []
    var lastOffset: [Int64] = []
    var lastTurnAt: [Date] = []
    private var hash: [UInt32] = []
    private var newer: [Int32] = []
    private var older: [Int32] = []

    private var free: [Int32] = []
    /// Open addressing with linear probing: slot numbers, -1 where empty; at most half full.
    private var index = [Int32](repeating: -1, count: 16)
    /// The least and the most recently used slots, -1 when empty.
    private(set) var leastRecent: Int32 = -1
    private var mostRecent: Int32 = -1
    private(set) var count = 0

    init(payloadBytes: Int) {
        self.payloadBytes = max(8, payloadBytes)
    }

    /// The slot holding `id`, if any.
    func slot(of id: String) -> Int32? {
        let h = Self.hash(id)
        var i = Int(h) & (index.count - 1)
        while index[i] >= 0 {
            let s = index[i]
            if hash[Int(s)] == h && idEquals(s, id) { return s }
            i = (i + 1) & (index.count - 1)
        }
        return nil
    }

    /// A new slot for `id` (which must not be present), most recently used.
    mutating func insert(_ id: String, record: [UInt8], source: Int32, lastOffset: Int64, lastTurnAt: Date) -> Int32 {
        if 2 * (count + 1) > index.count { rehash(capacity: 2 * index.count) }
        let s: Int32
        if let reused = free.popLast() {
            s = reused
            self.source[Int(s)] = source
            self.lastOffset[Int(s)] = lastOffset
            self.lastTurnAt[Int(s)] = lastTurnAt
            occupied[Int(s)] = true
        } else {
            s = Int32(occupied.count)
            if occupied.count == chunks.count * Self.chunkSlots {
                chunks.append([UInt8](repeating: 0, count: Self.chunkSlots * payloadBytes))
            }
            occupied.append(true)
            self.source.append(source)
            self.lastOffset.append(lastOffset)
            self.lastTurnAt.append(lastTurnAt)
            hash.append(0)
            newer.append(-1)
            older.append(-1)
        }
        hash[Int(s)] = Self.hash(id)
        count += 1
        var i = Int(hash[Int(s)]) & (index.count - 1)
        while index[i] >= 0 { i = (i + 1) & (index.count - 1) }
        index[i] = s
        linkMostRecent(s)
        write(s, id: id, record: record)
        return s
    }

    /// Frees a slot: out of the index and the use list, its payload forgotten.
    mutating func remove(_ s: Int32) {
        precondition(occupied[Int(s)], "slot \(s) is free")
        // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
        let mask = index.count - 1
        var i = Int(hash[Int(s)]) & mask
        while index[i] != s { i = (i + 1) & mask }
        var j = i
        while true {
            j = (j + 1) & mask
            guard index[j] >= 0 else { break }
            let home = Int(hash[Int(index[j])]) & mask
            // Move index[j] into the hole at i unless its home lies cyclically in (i, j].
            let homeInHoleToJ = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !homeInHoleToJ {
                index[i] = index[j]
                i = j
            }
        }
        index[i] = -1
        unlink(s)
        occupied[Int(s)] = false
        oversized[s] = nil
        free.append(s)
        count -= 1
    }

    /// Marks a slot most recently used.
    mutating func touch(_ s: Int32) {
        guard s != mostRecent else { return }
        unlink(s)
        linkMostRecent(s)
    }

    /// The dialogue id of an occupied slot.
    func id(_ s: Int32) -> String {
        if let o = oversized[s] { return o.id }
        let base = Int(s) % Self.chunkSlots * payloadBytes
        return chunks[Int(s) / Self.chunkSlots].withUnsafeBufferPointer { b in
            String(decoding: b[(base + 1)..<(base + 1 + Int(b[base]))], as: UTF8.self)
        }
    }

    /// The state record of an occupied slot.
    func record(_ s: Int32) -> [UInt8] {
        if let o = oversized[s] { return o.record }
        let base = Int(s) % Self.chunkSlots * payloadBytes
        return chunks[Int(s) / Self.chunkSlots].withUnsafeBufferPointer { b in
            let at = base + 1 + Int(b[base])
            let n = Int(b[at]) | Int(b[at + 1]) << 8
            return Array(b[(at + 2)..<(at + 2 + n)])
        }
    }

    /// Replaces the state record of an occupied slot.
    mutating func setRecord(_ s: Int32, _ record: [UInt8]) {
        write(s, id: id(s), record: record)
    }

    /// The occupied slots, in no particular order.
    var occupiedSlots: [Int32] { occupied.indices.compactMap { occupied[$0] ? Int32($0) : nil } }

    private mutating func write(_ s: Int32, id: String, record: [UInt8]) {
        let idBytes = id.utf8.count
        guard idBytes < 255, record.count <= Int(UInt16.max), 3 + idBytes + record.count <= payloadBytes else {
            oversized[s] = (id, record)
            return
        }
        oversized[s] = nil
        let base = Int(s) % Self.chunkSlots * payloadBytes
        chunks[Int(s) / Self.chunkSlots].withUnsafeMutableBufferPointer { b in
            b[base] = UInt8(idBytes)
            var at = base + 1
            for byte in id.utf8 {
                b[at] = byte
                at += 1
            }
            b[at] = UInt8(truncatingIfNeeded: record.count)
            b[at + 1] = UInt8(truncatingIfNeeded: record.count >> 8)
            _ = UnsafeMutableBufferPointer(rebasing: b[(at + 2)..<(at + 2 + record.count)]).initialize(from: record)
        }
    }

    private func idEquals(_ s: Int32, _ id: String) -> Bool {
        if let o = oversized[s] { return o.id == id }
        let base = Int(s) % Self.chunkSlots * payloadBytes
        return chunks[Int(s) / Self.chunkSlots].withUnsafeBufferPointer { b in
            let n = Int(b[base])
            return n == id.utf8.count && zip(b[(base + 1)..<(base + 1 + n)], id.utf8).allSatisfy { $0 == $1 }
        }
    }

    private mutating func rehash(capacity: Int) {
        index = [Int32](repeating: -1, count: capacity)
        for s in occupied.indices where occupied[s] {
            var i = Int(hash[s]) & (capacity - 1)
            while index[i] >= 0 { i = (i + 1) & (capacity - 1) }
            index[i] = Int32(s)
        }
    }

    private mutating func linkMostRecent(_ s: Int32) {
        older[Int(s)] = mostRecent
        newer[Int(s)] = -1
        if mostRecent >= 0 { newer[Int(mostRecent)] = s } else { leastRecent = s }
        mostRecent = s
    }

    private mutating func unlink(_ s: Int32) {
        let o = older[Int(s)], n = newer[Int(s)]
        if o >= 0 { newer[Int(o)] = n } else { leastRecent = n }
        if n >= 0 { older[Int(n)] = o } else { mostRecent = o }
    }

    private static func hash(_ id: String) -> UInt32 {
        UInt32(truncatingIfNeeded: id.hashValue)
    }
}
