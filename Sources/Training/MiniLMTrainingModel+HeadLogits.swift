import Encoder

extension MiniLMTrainingModel {
    /// The heads' logits, (rows, K), for `ids`, run in batches of similar length with the
    /// adapters merged once.
    func headLogits(_ ids: [[Int32]], batchSize: Int = 64) -> [Float] {
        let c = cf.hidden, k = layout.headOutputs
        var out = [Float](repeating: 0, count: ids.count * k)
        let order = ids.indices.sorted { (ids[$0].count, $0) < (ids[$1].count, $1) }
        var pooled = [Float](repeating: 0, count: batchSize * c), z = [Float](repeating: 0, count: batchSize * k)
        mergeAdapters()
        var start = 0
        while start < order.count {
            let part = Array(order[start..<min(order.count, start + batchSize)])
            pooled.withUnsafeMutableBufferPointer { pp in
                z.withUnsafeMutableBufferPointer { zp in
                    forward(part.map { ids[$0] }, pooled: pp.baseAddress!, merge: false)
                    headsForward(zp.baseAddress!, pp.baseAddress!, self, batch: part.count)
                }
            }
            for (r, i) in part.enumerated() { for j in 0..<k { out[i * k + j] = z[r * k + j] } }
            start += batchSize
        }
        return out
    }
}
