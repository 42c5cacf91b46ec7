import Foundation
import Testing
@testable import Contracts
@testable import Escalation

@Suite struct ODESolverTests {
    /// A problem with a closed-form solution at t1.
    struct Problem: Sendable, CustomStringConvertible {
        var description: String
        var y0: [Double]
        var t1: Double
        var exact: [Double]
        var f: @Sendable (inout [Double], [Double], Double) -> Void
    }

    static let problems: [Problem] = [
        // y' = −0.7 y: y(5) = e^{−3.5}.
        Problem(description: "exponential decay", y0: [1], t1: 5, exact: [exp(-3.5)]) { dy, y, _ in dy[0] = -0.7 * y[0] },
        // x'' = −4x, x(0) = 1, x'(0) = 0: x(10) = cos 20, x'(10) = −2 sin 20.
        Problem(description: "harmonic oscillator", y0: [1, 0], t1: 10, exact: [cos(20), -2 * sin(20)]) { dy, y, _ in
            dy[0] = y[1]; dy[1] = -4 * y[0]
        },
        // y' = 1.5 y (1 − y/10), y(0) = 0.5: y(6) = 10 / (1 + 19 e^{−9}).
        Problem(description: "logistic growth", y0: [0.5], t1: 6, exact: [10 / (1 + 19 * exp(-9))]) { dy, y, _ in
            dy[0] = 1.5 * y[0] * (1 - y[0] / 10)
        },
    ]

    /// Dormand–Prince at rtol 1e-9, atol 1e-12 lands within 1e-7 (relative to max(1, |exact|)).
    @Test(arguments: problems)
    func dormandPrinceMatchesTheAnalyticSolution(_ p: Problem) throws {
        var y = p.y0
        let stats = try dormandPrince(&y, from: 0, to: p.t1, options: ODEOptions(rtol: 1e-9, atol: 1e-12), p.f)
        for i in y.indices { #expect(abs(y[i] - p.exact[i]) <= 1e-7 * max(1, abs(p.exact[i])), "\(p) component \(i): \(y[i]) vs \(p.exact[i])") }
        #expect(stats.accepted > 0 && stats.accepted < 2000)
        #expect(stats.evaluations == 1 + 6 * (stats.accepted + stats.rejected))
    }

    /// Looser tolerances take fewer steps and are still honoured to within ~100× rtol globally.
    @Test(arguments: problems)
    func dormandPrinceLooseTolerance(_ p: Problem) throws {
        var tight = p.y0, loose = p.y0
        let st = try dormandPrince(&tight, from: 0, to: p.t1, options: ODEOptions(rtol: 1e-10, atol: 1e-12), p.f)
        let sl = try dormandPrince(&loose, from: 0, to: p.t1, options: ODEOptions(rtol: 1e-4, atol: 1e-7), p.f)
        #expect(sl.accepted < st.accepted)
        for i in loose.indices { #expect(abs(loose[i] - p.exact[i]) <= 1e-2 * max(1, abs(p.exact[i]))) }
    }

    /// RK4 with 1000 fixed steps lands within 1e-6 (relative to max(1, |exact|)).
    @Test(arguments: problems)
    func rk4MatchesTheAnalyticSolution(_ p: Problem) throws {
        var y = p.y0
        try rk4(&y, from: 0, to: p.t1, steps: 1000, p.f)
        for i in y.indices { #expect(abs(y[i] - p.exact[i]) <= 1e-6 * max(1, abs(p.exact[i])), "\(p) component \(i)") }
    }

    /// RK4 is 4th order: halving the step cuts the error about 16×.
    @Test func rk4IsFourthOrder() throws {
        let p = Self.problems[1]
        func err(_ steps: Int) throws -> Double {
            var y = p.y0
            try rk4(&y, from: 0, to: p.t1, steps: steps, p.f)
            return abs(y[0] - p.exact[0])
        }
        let ratio = try err(200) / err(400)
        #expect(ratio > 12 && ratio < 20, "error ratio \(ratio)")
    }

    @Test func dormandPrinceIntegratesBackwardInTime() throws {
        var y = [exp(-3.5)]
        try dormandPrince(&y, from: 5, to: 0, options: ODEOptions(rtol: 1e-10, atol: 1e-14)) { dy, y, _ in dy[0] = -0.7 * y[0] }
        #expect(abs(y[0] - 1) < 1e-7)
    }

    /// y' = y² from y(0) = 1 blows up at t = 1: integrating to 2 ends in an error, quickly, not NaNs.
    @Test func blowUpEndsInAnError() {
        let start = Date()
        var y: [Double] = [1]
        #expect {
            try dormandPrince(&y, from: 0, to: 2) { dy, y, _ in dy[0] = y[0] * y[0] }
        } throws: { e in
            let c = (e as? ModelError)?.code
            return c == .solverStepLimit || c == .solverNonFinite
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    /// A stiff system needs millions of explicit steps: the step limit stops it.
    @Test func stiffSystemHitsTheStepLimit() {
        var y: [Double] = [0]
        #expect {
            try dormandPrince(&y, from: 0, to: 10, options: ODEOptions(maxSteps: 500)) { dy, y, t in dy[0] = -1e6 * (y[0] - cos(t)) }
        } throws: { ($0 as? ModelError)?.code == .solverStepLimit }
    }

    /// The minimum step size is enforced too.
    @Test func minimumStepIsEnforced() {
        var y: [Double] = [1]
        #expect {
            try dormandPrince(&y, from: 0, to: 2, options: ODEOptions(minStep: 1e-3)) { dy, y, _ in dy[0] = y[0] * y[0] }
        } throws: { ($0 as? ModelError)?.code == .solverStepLimit }
    }

    /// Fixed-step RK4 through y' = e^y (blows up at t = 1) ends in .solverNonFinite, also in Float.
    @Test func rk4BlowUpEndsInAnError() {
        var y: [Float] = [0]
        #expect {
            try rk4(&y, from: 0, to: 2, steps: 20) { dy, y, _ in dy[0] = exp(y[0]) }
        } throws: { ($0 as? ModelError)?.code == .solverNonFinite }
    }
}
