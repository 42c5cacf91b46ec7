import Testing
@testable import Encoder

@Suite struct EmbeddingCacheTests {
    @Test func evictsLeastRecentlyUsed() {
        var c = EmbeddingCache(capacity: 2)
        c.put("a", [1])
        c.put("b", [2])
        #expect(c.get("a") == [1])      // a is now most recent
        c.put("c", [3])                 // evicts b
        #expect(c.get("b") == nil)
        #expect(c.get("a") == [1])
        #expect(c.get("c") == [3])
        #expect(c.count == 2)
        #expect(c.hits == 3 && c.misses == 1)
        #expect(c.hitRate == 0.75)
    }

    @Test func keyIsExactText() {
        var c = EmbeddingCache(capacity: 4)
        c.put("Thanks!", [1])
        #expect(c.get("thanks!") == nil)
        #expect(c.get("Thanks! ") == nil)
        #expect(c.get("Thanks!") == [1])
    }

    @Test func updateRefreshesRecency() {
        var c = EmbeddingCache(capacity: 2)
        c.put("a", [1]); c.put("b", [2]); c.put("a", [9]); c.put("c", [3])
        #expect(c.get("a") == [9])
        #expect(c.get("b") == nil)
    }

    @Test func boundedUnderChurnAndMatchesModel() {
        var c = EmbeddingCache(capacity: 50)
        var model: [String] = []   // most recent last
        var g = SystemRandomNumberGenerator()
        for step in 0..<5000 {
            let key = "k\(Int.random(in: 0..<120, using: &g))"
            if let v = c.get(key) {
                #expect(v == [Float(key.dropFirst())!])
                model.removeAll { $0 == key }
                model.append(key)
            } else {
                #expect(!model.contains(key))
                c.put(key, [Float(key.dropFirst())!])
                model.append(key)
                if model.count > 50 { model.removeFirst() }
            }
            #expect(c.count == model.count, "step \(step)")
        }
        #expect(c.count == 50)
        #expect(c.hitRate > 0 && c.hitRate < 1)
    }

    @Test func zeroCapacityNeverStores() {
        var c = EmbeddingCache(capacity: 0)
        c.put("a", [1])
        #expect(c.get("a") == nil)
        #expect(c.count == 0 && c.hitRate == 0)
    }
}
