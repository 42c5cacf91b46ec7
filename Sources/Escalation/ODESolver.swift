import Foundation
import Contracts

// ODE solvers for dy/dt = f(y, t): fixed-step classical Runge–Kutta (RK4) and adaptive
// Dormand–Prince 5(4) with rtol/atol error control. Both end in a ModelError, never a hang or
// NaNs: RK4 checks every step for non-finite values; Dormand–Prince also has a step-count limit
// and a minimum step size.
//
// The vector field writes dy (same length as y) for state y at time t: f(&dy, y, t).

/// Limits and tolerances for `dormandPrince`.
public struct ODEOptions: Sendable {
    /// Relative tolerance per component.
    public var rtol: Double = 1e-6
    /// Absolute tolerance per component.
    public var atol: Double = 1e-9
    /// First trial step; nil picks one from the scale of y and f(y).
    public var initialStep: Double? = nil
    /// Smallest step allowed (absolute); a smaller one needed means a stiff or blowing-up system.
    public var minStep: Double = 1e-12
    /// Largest step allowed (absolute).
    public var maxStep: Double = .infinity
    /// Most steps (accepted + rejected) before giving up.
    public var maxSteps: Int = 100_000

    public init(rtol: Double = 1e-6, atol: Double = 1e-9, initialStep: Double? = nil,
                minStep: Double = 1e-12, maxStep: Double = .infinity, maxSteps: Int = 100_000) {
        self.rtol = rtol; self.atol = atol; self.initialStep = initialStep
        self.minStep = minStep; self.maxStep = maxStep; self.maxSteps = maxSteps
    }
}

/// What an adaptive solve cost.
public struct ODEStats: Sendable, Equatable {
    /// Steps accepted.
    public var accepted = 0
    /// Steps rejected (error too large) and retried smaller.
    public var rejected = 0
    /// Evaluations of the vector field.
    public var evaluations = 0
}

/// Integrates y from t0 to t1 in `steps` equal classical RK4 steps (4 evaluations each), in place.
/// Throws `.solverNonFinite` as soon as a step leaves a NaN or infinity in y.
public func rk4<T: BinaryFloatingPoint>(
    _ y: inout [T], from t0: T, to t1: T, steps: Int,
    _ f: (_ dy: inout [T], _ y: [T], _ t: T) -> Void
) throws {
    precondition(steps >= 1, "rk4 needs at least one step")
    let n = y.count
    let h = (t1 - t0) / T(steps)
    var k1 = [T](repeating: 0, count: n), k2 = k1, k3 = k1, k4 = k1, u = k1
    for s in 0..<steps {
        let t = t0 + T(s) * h
        f(&k1, y, t)
        for i in 0..<n { u[i] = y[i] + h / 2 * k1[i] }
        f(&k2, u, t + h / 2)
        for i in 0..<n { u[i] = y[i] + h / 2 * k2[i] }
        f(&k3, u, t + h / 2)
        for i in 0..<n { u[i] = y[i] + h * k3[i] }
        f(&k4, u, t + h)
        var finite = true
        for i in 0..<n {
            y[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])
            finite = finite && y[i].isFinite
        }
        if !finite {
            throw ModelError(.solverNonFinite, "rk4: non-finite state at t=\(Double(t + h)) (step \(s + 1) of \(steps))")
        }
    }
}

// Dormand–Prince 5(4) tableau (Dormand & Prince 1980; Hairer, Nørsett & Wanner, table 5.2).
private let dpC: [Double] = [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1]
private let dpA: [[Double]] = [
    [],
    [1.0 / 5],
    [3.0 / 40, 9.0 / 40],
    [44.0 / 45, -56.0 / 15, 32.0 / 9],
    [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
    [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
    [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
]
/// 5th-order weights (= the last row of A: first same as last).
private let dpB5: [Double] = [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0]
/// 4th-order weights of the embedded error estimate.
private let dpB4: [Double] = [5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40]

/// Integrates y from t0 to t1 (either direction) with adaptive Dormand–Prince 5(4), in place,
/// keeping the local error of each step within atol + rtol·|y| per component (RMS norm).
///
/// Throws `.solverStepLimit` when more than `options.maxSteps` steps are needed or the step would
/// fall below `options.minStep`, and `.solverNonFinite` when f or y stops being finite.
@discardableResult
public func dormandPrince<T: BinaryFloatingPoint>(
    _ y: inout [T], from t0: T, to t1: T, options: ODEOptions = ODEOptions(),
    _ f: (_ dy: inout [T], _ y: [T], _ t: T) -> Void
) throws -> ODEStats {
    var stats = ODEStats()
    let n = y.count
    let span = Double(t1 - t0)
    if span == 0 || n == 0 { return stats }
    let dir: Double = span > 0 ? 1 : -1
    var k = [[T]](repeating: [T](repeating: 0, count: n), count: 7)
    var u = [T](repeating: 0, count: n)
    var t = Double(t0)
    f(&k[0], y, T(t)); stats.evaluations += 1

    func rmsNorm(_ v: [T], _ scale: [Double]) -> Double {
        var s = 0.0
        for i in 0..<n { let r = Double(v[i]) / scale[i]; s += r * r }
        return (s / Double(n)).squareRoot()
    }
    var scale = y.map { options.atol + options.rtol * abs(Double($0)) }

    // Initial step (Hairer's heuristic, first part): 1% of |y|/|f|, within the limits.
    var h: Double
    if let h0 = options.initialStep {
        h = abs(h0)
    } else {
        let d0 = rmsNorm(y, scale), d1 = rmsNorm(k[0], scale)
        h = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1
    }
    h = min(h, abs(span), options.maxStep)

    while dir * (Double(t1) - t) > 0 {
        if stats.accepted + stats.rejected >= options.maxSteps {
            throw ModelError(.solverStepLimit, "dormandPrince: more than \(options.maxSteps) steps at t=\(t)")
        }
        if h < options.minStep {
            throw ModelError(.solverStepLimit, "dormandPrince: step \(h) below the minimum \(options.minStep) at t=\(t)")
        }
        // Do not overshoot t1; a last step is allowed to be shorter than minStep.
        let remaining = abs(Double(t1) - t)
        let last = h >= remaining
        let hs = dir * (last ? remaining : h)

        for s in 1..<7 {
            for i in 0..<n {
                var acc = 0.0
                for j in 0..<s where dpA[s][j] != 0 { acc += dpA[s][j] * Double(k[j][i]) }
                u[i] = y[i] + T(hs * acc)
            }
            f(&k[s], u, T(t + dpC[s] * hs)); stats.evaluations += 1
        }
        // u is now the 5th-order solution (row 6 of A = b5), k[6] = f(u): first same as last.
        var err = [T](repeating: 0, count: n)
        var finite = true
        for i in 0..<n {
            var e = 0.0
            for j in 0..<7 { e += (dpB5[j] - dpB4[j]) * Double(k[j][i]) }
            err[i] = T(hs * e)
            scale[i] = options.atol + options.rtol * max(abs(Double(y[i])), abs(Double(u[i])))
            finite = finite && u[i].isFinite && k[6][i].isFinite
        }
        if !finite {
            // A non-finite trial: shrink hard and retry; if that cannot help, the step limit catches it.
            if !y.allSatisfy({ $0.isFinite }) {
                throw ModelError(.solverNonFinite, "dormandPrince: non-finite state at t=\(t)")
            }
            stats.rejected += 1
            h = abs(hs) / 10
            continue
        }
        let en = rmsNorm(err, scale)
        if en <= 1 {
            t = last ? Double(t1) : t + hs
            y = u
            k[0] = k[6]
            stats.accepted += 1
        } else {
            stats.rejected += 1
        }
        // Step-size controller: safety 0.9, growth between 0.2 and 5 (no growth right after a rejection).
        let factor = en == 0 ? 5 : 0.9 * pow(en, -0.2)
        h = abs(hs) * min(en <= 1 ? 5 : 1, max(0.2, factor))
        h = min(h, options.maxStep)
    }
    return stats
}
