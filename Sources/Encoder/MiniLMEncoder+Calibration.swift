extension MiniLMEncoder {
    /// Runs `calibration` through this encoder's current arithmetic (fp32 before the int8 layers
    /// exist) and returns the largest |value| of each dense layer's input channels.
    func activationRanges(_ calibration: [[Int32]]) throws -> ActivationRanges {
        try check(calibration)
        ranges = ActivationRanges(layers: cf.layers, hidden: cf.hidden, ffn: cf.ffn)
        defer { ranges = nil }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: configuration.batchSize * cf.hidden)
        defer { scratch.deallocate() }
        var start = 0
        while start < calibration.count {
            let end = min(calibration.count, start + configuration.batchSize)
            forward(calibration[start..<end], scratch)
            start = end
        }
        return ranges!
    }
}
