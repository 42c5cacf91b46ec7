/// out[t, c] = x[t, c] + bias[c], in place allowed.
///
/// - out:  (T, C)
/// - x:    (T, C)
/// - bias: (C)
public func addBias(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, cols: Int) {
    let vec = cols & ~15
    for t in 0..<rows {
        let xr = x + t * cols, or = out + t * cols
        var c = 0
        while c < vec { store16(or + c, load16(xr + c) + load16(bias + c)); c += 16 }
        while c < cols { or[c] = xr[c] + bias[c]; c += 1 }
    }
}

/// out = x · y, elementwise, in place allowed.
///
/// - out, x, y: (N)
public func mul(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    let vec = count & ~15
    var i = 0
    while i < vec { store16(out + i, load16(x + i) * load16(y + i)); i += 16 }
    while i < count { out[i] = x[i] * y[i]; i += 1 }
}

/// out = x + y, elementwise, in place allowed.
///
/// - out, x, y: (N)
public func add(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    let vec = count & ~15
    var i = 0
    while i < vec { store16(out + i, load16(x + i) + load16(y + i)); i += 16 }
    while i < count { out[i] = x[i] + y[i]; i += 1 }
}
