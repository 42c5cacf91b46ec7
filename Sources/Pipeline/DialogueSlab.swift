#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Live dialogues in fixed-size slots: each slot holds the dialogue's metadata, its id's bytes and
/// its state record, in chunks of anonymous memory; an open-addressing index maps ids to slots,
/// and a least-recently-used list is threaded through the slots.
///
/// No per-dialogue heap objects: a dialogue costs its slot (33 bytes of metadata plus
/// `payloadBytes`) and 8–16 bytes of index. An id that is a canonical UUID (36 characters, hex
/// digits in one case) is stored as its 16 bytes. A payload larger than a slot (an unusually long
/// id or speaker) is kept aside in a dictionary, so nothing is cut. Freed slots are reused. The chunks
/// are mapped directly rather than taken from malloc, so transient allocations cannot fragment the
/// heap around them, and a chunk's pages are touched only as its slots fill.
struct DialogueSlab: Sendable {
    /// Slots per chunk (chunks are allocated whole and never moved, so growth copies nothing big).
    static let chunkSlots = 1_024
    /// Bytes of a slot's metadata: occupied (1), source (4), hash (4), newer (4), older (4),
    /// last offset (8), last turn time (8), unaligned.
    static let metadataBytes = 33

    /// Bytes of a slot's payload: the id's length (one byte; a `UUIDBytes` marker for a UUID's 16
    /// bytes), the id, the record's length (two bytes) and the record.
    let payloadBytes: Int
    private let stride: Int
    private var chunks: [SlabChunk] = []
    private var slots = 0
    /// Payloads that do not fit in their slot, by slot.
    private var oversized: [Int32: (id: String, record: [UInt8])] = [:]
    private var free: [Int32] = []
    /// Open addressing with linear probing: slot numbers, -1 where empty; at most half full.
    private var index = [Int32](repeating: -1, count: 16)
    /// The least and the most recently used slots, -1 when empty.
    private(set) var leastRecent: Int32 = -1
    private var mostRecent: Int32 = -1
    private(set) var count = 0

    init(payloadBytes: Int) {
        self.payloadBytes = max(8, payloadBytes)
        stride = Self.metadataBytes + self.payloadBytes
    }

    // Metadata, read and written in place.
    func occupied(_ s: Int32) -> Bool { load(s, 0, as: UInt8.self) != 0 }
    func source(_ s: Int32) -> Int32 { load(s, 1, as: Int32.self) }
    func lastOffset(_ s: Int32) -> Int64 { load(s, 17, as: Int64.self) }
    func lastTurnAt(_ s: Int32) -> Date { Date(timeIntervalSinceReferenceDate: load(s, 25, as: Double.self)) }
    mutating func setSource(_ s: Int32, _ v: Int32) { store(s, 1, v) }
    mutating func setLastOffset(_ s: Int32, _ v: Int64) { store(s, 17, v) }
    mutating func setLastTurnAt(_ s: Int32, _ v: Date) { store(s, 25, v.timeIntervalSinceReferenceDate) }
    private func hash(_ s: Int32) -> UInt32 { load(s, 5, as: UInt32.self) }
    private func newer(_ s: Int32) -> Int32 { load(s, 9, as: Int32.self) }
    private func older(_ s: Int32) -> Int32 { load(s, 13, as: Int32.self) }
    private mutating func setOccupied(_ s: Int32, _ v: Bool) { store(s, 0, UInt8(v ? 1 : 0)) }
    private mutating func setNewer(_ s: Int32, _ v: Int32) { store(s, 9, v) }
    private mutating func setOlder(_ s: Int32, _ v: Int32) { store(s, 13, v) }

    private func load<T>(_ s: Int32, _ offset: Int, as: T.Type) -> T {
        chunks[Int(s) / Self.chunkSlots].bytes.loadUnaligned(fromByteOffset: Int(s) % Self.chunkSlots * stride + offset, as: T.self)
    }

    private mutating func store<T>(_ s: Int32, _ offset: Int, _ v: T) {
        mutableBytes(s).storeBytes(of: v, toByteOffset: offset, as: T.self)
    }

    /// The start of a slot, its chunk copied first if another store shares it (copy on write).
    private mutating func mutableBytes(_ s: Int32) -> UnsafeMutableRawPointer {
        let c = Int(s) / Self.chunkSlots
        if !isKnownUniquelyReferenced(&chunks[c]) { chunks[c] = chunks[c].copy() }
        return chunks[c].bytes + Int(s) % Self.chunkSlots * stride
    }

    private func payload(_ s: Int32) -> UnsafeRawPointer {
        UnsafeRawPointer(chunks[Int(s) / Self.chunkSlots].bytes + Int(s) % Self.chunkSlots * stride + Self.metadataBytes)
    }

    /// The slot holding `id`, if any.
    func slot(of id: String) -> Int32? {
        let h = Self.hash(id)
        var i = Int(h) & (index.count - 1)
        while index[i] >= 0 {
            let s = index[i]
            if hash(s) == h && idEquals(s, id) { return s }
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
        } else {
            if slots == chunks.count * Self.chunkSlots { chunks.append(SlabChunk(bytes: Self.chunkSlots * stride)) }
            s = Int32(slots)
            slots += 1
        }
        let h = Self.hash(id)
        let m = mutableBytes(s)
        m.storeBytes(of: 1 as UInt8, as: UInt8.self)
        m.storeBytes(of: source, toByteOffset: 1, as: Int32.self)
        m.storeBytes(of: h, toByteOffset: 5, as: UInt32.self)
        m.storeBytes(of: lastOffset, toByteOffset: 17, as: Int64.self)
        m.storeBytes(of: lastTurnAt.timeIntervalSinceReferenceDate, toByteOffset: 25, as: Double.self)
        count += 1
        var i = Int(h) & (index.count - 1)
        while index[i] >= 0 { i = (i + 1) & (index.count - 1) }
        index[i] = s
        linkMostRecent(s)
        write(s, id: id, record: record)
        return s
    }

    /// Frees a slot: out of the index and the use list, its payload forgotten.
    mutating func remove(_ s: Int32) {
        precondition(occupied(s), "slot \(s) is free")
        // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
        let mask = index.count - 1
        var i = Int(hash(s)) & mask
        while index[i] != s { i = (i + 1) & mask }
        var j = i
        while true {
            j = (j + 1) & mask
            guard index[j] >= 0 else { break }
            let home = Int(hash(index[j])) & mask
            // Move index[j] into the hole at i unless its home lies cyclically in (i, j].
            let homeInHoleToJ = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !homeInHoleToJ {
                index[i] = index[j]
                i = j
            }
        }
        index[i] = -1
        unlink(s)
        setOccupied(s, false)
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
        let p = payload(s)
        let marker = p.load(as: UInt8.self)
        if let uuid = UUIDBytes(marker: marker, loading: p + 1) { return uuid.string }
        return String(decoding: UnsafeRawBufferPointer(start: p + 1, count: Int(marker)), as: UTF8.self)
    }

    /// The state record of an occupied slot.
    func record(_ s: Int32) -> [UInt8] {
        if let o = oversized[s] { return o.record }
        let p = payload(s)
        let at = 1 + Self.storedIDBytes(p.load(as: UInt8.self))
        let n = Int(p.loadUnaligned(fromByteOffset: at, as: UInt16.self))
        return Array(UnsafeRawBufferPointer(start: p + at + 2, count: n))
    }

    /// Bytes an id takes in a payload after its length byte.
    private static func storedIDBytes(_ marker: UInt8) -> Int {
        marker >= UUIDBytes.uppercaseMarker ? 16 : Int(marker)
    }

    /// Replaces the state record of an occupied slot; the stored id stays as it is when the record fits.
    mutating func setRecord(_ s: Int32, _ record: [UInt8]) {
        if oversized[s] == nil {
            let at = 1 + Self.storedIDBytes(payload(s).load(as: UInt8.self))
            if fits(record, at: at) { return storeRecord(record, at: at, in: s) }
        }
        write(s, id: id(s), record: record)
    }

    /// Whether `record` fits a payload after `at` bytes of id.
    private func fits(_ record: [UInt8], at: Int) -> Bool {
        record.count <= Int(UInt16.max) && at + 2 + record.count <= payloadBytes
    }

    private mutating func storeRecord(_ record: [UInt8], at: Int, in s: Int32) {
        let p = mutableBytes(s) + Self.metadataBytes + at
        p.storeBytes(of: UInt16(record.count), as: UInt16.self)
        record.withUnsafeBytes { (p + 2).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// How many payloads did not fit their slot.
    var oversizedCount: Int { oversized.count }

    /// The occupied slots, in no particular order.
    var occupiedSlots: [Int32] { (0..<Int32(slots)).filter { occupied($0) } }

    private mutating func write(_ s: Int32, id: String, record: [UInt8]) {
        let uuid = UUIDBytes(id)
        let idBytes = uuid == nil ? id.utf8.count : 16
        guard idBytes < Int(UUIDBytes.uppercaseMarker), fits(record, at: 1 + idBytes) else {
            oversized[s] = (id, record)
            return
        }
        oversized[s] = nil
        let p = mutableBytes(s) + Self.metadataBytes
        if let uuid {
            uuid.store(to: p)
        } else {
            p.storeBytes(of: UInt8(idBytes), as: UInt8.self)
            for (i, byte) in id.utf8.enumerated() { p.storeBytes(of: byte, toByteOffset: 1 + i, as: UInt8.self) }
        }
        storeRecord(record, at: 1 + idBytes, in: s)
    }

    private func idEquals(_ s: Int32, _ id: String) -> Bool {
        if let o = oversized[s] { return o.id == id }
        let p = payload(s)
        let marker = p.load(as: UInt8.self)
        if let stored = UUIDBytes(marker: marker, loading: p + 1) { return stored == UUIDBytes(id) }
        return UnsafeRawBufferPointer(start: p + 1, count: Int(marker)).elementsEqual(id.utf8)
    }

    private mutating func rehash(capacity: Int) {
        index = [Int32](repeating: -1, count: capacity)
        for s in occupiedSlots {
            var i = Int(hash(s)) & (capacity - 1)
            while index[i] >= 0 { i = (i + 1) & (capacity - 1) }
            index[i] = s
        }
    }

    private mutating func linkMostRecent(_ s: Int32) {
        setOlder(s, mostRecent)
        setNewer(s, -1)
        if mostRecent >= 0 { setNewer(mostRecent, s) } else { leastRecent = s }
        mostRecent = s
    }

    private mutating func unlink(_ s: Int32) {
        let o = older(s), n = newer(s)
        if o >= 0 { setNewer(o, n) } else { leastRecent = n }
        if n >= 0 { setOlder(n, o) } else { mostRecent = o }
    }

    private static func hash(_ id: String) -> UInt32 {
        UInt32(truncatingIfNeeded: id.hashValue)
    }
}

/// One chunk of slots in an anonymous memory mapping of its own, zeroed by the kernel.
final class SlabChunk: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    let size: Int

    init(bytes size: Int) {
        self.size = size
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("mmap of \(size) bytes for dialogue state failed: errno \(errno)")
        }
        bytes = p
    }

    deinit { munmap(bytes, size) }

    func copy() -> SlabChunk {
        let c = SlabChunk(bytes: size)
        c.bytes.copyMemory(from: bytes, byteCount: size)
        return c
    }
}

/// A dialogue id that is a canonical UUID (8-4-4-4-12 hex digits, all letters in one case) as
/// its 16 bytes and its case, so a slot can hold it in 17 bytes instead of 37 and give it back
/// unchanged.
struct UUIDBytes: Equatable {
    /// Length-byte values that mark a packed UUID in a slot's payload.
    static let uppercaseMarker: UInt8 = 0xFE, lowercaseMarker: UInt8 = 0xFF
    var high: UInt64
    var low: UInt64
    var uppercase: Bool

    /// `id` packed, or nil when it is not a canonical UUID in one case.
    init?(_ id: String) {
        guard id.utf8.count == 36 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0, digits = 0, lower = false, upper = false
        for (i, c) in id.utf8.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                continue
            }
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10; lower = true
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10; upper = true
            default: return nil
            }
            if digits < 16 { high = high << 4 | UInt64(v) } else { low = low << 4 | UInt64(v) }
            digits += 1
        }
        guard !(lower && upper) else { return nil }
        (self.high, self.low, self.uppercase) = (high, low, upper)
    }

    /// The UUID stored after a length byte of `marker`, or nil when the marker is a plain length.
    init?(marker: UInt8, loading p: UnsafeRawPointer) {
        guard marker >= Self.uppercaseMarker else { return nil }
        high = p.loadUnaligned(as: UInt64.self)
        low = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        uppercase = marker == Self.uppercaseMarker
    }

    /// Writes the marker byte and the 16 bytes.
    func store(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: uppercase ? Self.uppercaseMarker : Self.lowercaseMarker, as: UInt8.self)
        p.storeBytes(of: high, toByteOffset: 1, as: UInt64.self)
        p.storeBytes(of: low, toByteOffset: 9, as: UInt64.self)
    }

    /// The id as it was given.
    var string: String {
        let hex = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        return String(unsafeUninitializedCapacity: 36) { out in
            var at = 0
            for d in 0..<32 {
                if d == 8 || d == 12 || d == 16 || d == 20 { out[at] = UInt8(ascii: "-"); at += 1 }
                let word = d < 16 ? high : low
                out[at] = hex[Int(word >> (4 * UInt64(15 - d % 16)) & 0xF)]
                at += 1
            }
            return at
        }
    }
}
