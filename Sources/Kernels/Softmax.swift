/// Softmax over each row, numerically stable (max subtracted), in place allowed.
///
/// - out: (R, C)
/// - x:   (R, C)
public func softmax(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
    let vec = cols & ~15
    for r in 0..<rows {
        let xr = x + r * cols
        let or = out + r * cols
        var m = -Float.infinity
        var c = 0
        if vec > 0 {
            var mv = load16(xr)
            c = 16
            while c < vec { let v = load16(xr + c); mv.replace(with: v, where: v .> mv); c += 16 }
            m = mv.max()
        }
        while c < cols { m = max(m, xr[c]); c += 1 }

        var acc = SIMD16<Float>()
        c = 0
        while c < vec { let e = exp16(load16(xr + c) - m); store16(or + c, e); acc += e; c += 16 }
        var sum = acc.sum()
        while c < cols { let e = exp1(xr[c] - m); or[c] = e; sum += e; c += 1 }

        let inv = 1 / sum
        c = 0
        while c < vec { store16(or + c, load16(or + c) * inv); c += 16 }
        while c < cols { or[c] *= inv; c += 1 }
    }
}
