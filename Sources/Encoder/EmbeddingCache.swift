/// A least-recently-used cache of sentence embeddings keyed by the exact text.
///
/// Contact-centre agents send many identical canned messages; a hit skips the encoder.
/// Entries live in flat arrays linked into a recency list, so lookups and inserts are O(1)
/// and the memory bound is `capacity` embeddings. Not synchronised: give each encoder its own.
public struct EmbeddingCache: Sendable {
    /// Most entries kept; inserting beyond it evicts the least recently used.
    public let capacity: Int
    /// Lookups that found the text.
    public private(set) var hits = 0
    /// Lookups that did not.
    public private(set) var misses = 0

    var index: [String: Int] = [:]
    var keys: [String] = []
    var values: [[Float]] = []
    var prev: [Int] = []   // towards most recent; -1 at the head
    var next: [Int] = []   // towards least recent; -1 at the tail
    var head = -1, tail = -1

    /// - Parameter capacity: most embeddings kept (0 disables caching).
    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// Entries held.
    public var count: Int { index.count }

    /// hits / (hits + misses), 0 before any lookup.
    public var hitRate: Double {
        hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses)
    }

    /// The cached embedding for `text`, marking it most recently used; counts a hit or a miss.
    public mutating func get(_ text: String) -> [Float]? {
        guard let i = index[text] else { misses += 1; return nil }
        hits += 1
        moveToFront(i)
        return values[i]
    }

    /// Stores `embedding` for `text` as most recently used, evicting the least recently used
    /// entry when full.
    public mutating func put(_ text: String, _ embedding: [Float]) {
        guard capacity > 0 else { return }
        if let i = index[text] {
            values[i] = embedding
            moveToFront(i)
            return
        }
        let i: Int
        if keys.count < capacity {
            i = keys.count
            keys.append(text); values.append(embedding); prev.append(-1); next.append(-1)
        } else {
            i = tail
            unlink(i)
            index[keys[i]] = nil
            keys[i] = text
            values[i] = embedding
        }
        index[text] = i
        pushFront(i)
    }

    /// Drops every entry and resets the counters.
    public mutating func removeAll() {
        self = EmbeddingCache(capacity: capacity)
    }

    mutating func unlink(_ i: Int) {
        if prev[i] >= 0 { next[prev[i]] = next[i] } else { head = next[i] }
        if next[i] >= 0 { prev[next[i]] = prev[i] } else { tail = prev[i] }
        prev[i] = -1; next[i] = -1
    }

    mutating func pushFront(_ i: Int) {
        next[i] = head
        prev[i] = -1
        if head >= 0 { prev[head] = i }
        head = i
        if tail < 0 { tail = i }
    }

    mutating func moveToFront(_ i: Int) {
        guard head != i else { return }
        unlink(i)
        pushFront(i)
    }
}
