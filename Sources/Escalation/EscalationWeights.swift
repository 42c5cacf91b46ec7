import Foundation
import Contracts

/// The escalation forecaster's parameters in one flat block, with the settings they were trained
/// under. Stored as JSON (a few thousand floats).
///
/// Layout of `params` (row-major, shapes [out, in]); D input, L latent, M field hidden:
///
///     Wz [L,D] Uz [L,L] bz [L]   update gate
///     Wr [L,D] Ur [L,L] br [L]   reset gate
///     Wn [L,D] Un [L,L] bn [L]   candidate
///     A1 [M,L] c1 [M]            field: a = tanh(A1 h + c1)
///     A2 [L,M] c2 [L]            field: dh/dτ = A2 a + c2   (zero when `ode` is false)
///     w2 [L]   b2 [1]            next-2-turns risk = σ(w2·h(τ_next) + b2)
///     wl [L]   bl [1]            hazard λ = softplus(wl·h + bl), per unit of scaled time
public struct EscalationWeights: Sendable, Codable, Equatable {
    /// Input width D: `featureDim` (see `EscalationForecaster.features`).
    public var inputDim: Int
    /// Latent width L.
    public var latentDim: Int
    /// Hidden width M of the vector field f_θ.
    public var hiddenDim: Int
    /// Whether h evolves between turns (the ODE-RNN); false is the discrete GRU baseline.
    public var ode: Bool
    /// Scaled time: τ(s) = log1p(s / timeScaleSeconds).
    public var timeScaleSeconds: Double
    /// The largest RK4 step in scaled time.
    public var maxStepTau: Double
    /// Elapsed times are capped here before scaling: the longest gap training saw, so a long
    /// silence is read as the longest trained one, never extrapolated.
    public var maxElapsedSeconds: Double
    /// Where the next-2-turns risk is decoded: this long after the turn (the median synthetic gap).
    public var nominalGapSeconds: Double
    /// The parameters, in the layout above.
    public var params: [Float]

    /// The input width: 32 probabilities, 8 primaries, intensity, sarcasm, neutral, the conversation cues.
    public static let featureDim = 32 + 8 + 1 + 1 + 1 + ConversationCues.count

    public init(inputDim: Int = EscalationWeights.featureDim, latentDim: Int = 16, hiddenDim: Int = 32, ode: Bool,
                timeScaleSeconds: Double = 60, maxStepTau: Double = 0.25, maxElapsedSeconds: Double = 3600,
                nominalGapSeconds: Double = 30, params: [Float]? = nil) {
        self.inputDim = inputDim; self.latentDim = latentDim; self.hiddenDim = hiddenDim; self.ode = ode
        self.timeScaleSeconds = timeScaleSeconds; self.maxStepTau = maxStepTau
        self.maxElapsedSeconds = maxElapsedSeconds; self.nominalGapSeconds = nominalGapSeconds
        let count = EscalationLayout(inputDim, latentDim, hiddenDim).count
        self.params = params ?? [Float](repeating: 0, count: count)
        precondition(self.params.count == count, "expected \(count) parameters")
    }

    package var layout: EscalationLayout { EscalationLayout(inputDim, latentDim, hiddenDim) }

    /// Scaled time for an elapsed time in seconds (negative clamps to 0, long gaps to the cap).
    package func tau(_ seconds: Double) -> Double {
        log1p(min(max(seconds, 0), maxElapsedSeconds) / timeScaleSeconds)
    }

    /// RK4 steps for a span of scaled time.
    package func steps(_ tau: Double) -> Int { max(1, Int((tau / maxStepTau).rounded(.up))) }

    /// Loads `url` (JSON), checking the parameter count against the dimensions.
    public static func load(_ url: URL) throws -> EscalationWeights {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError(.fileNotFound, "escalation weights \(url.path)", cause: error)
        }
        let w: EscalationWeights
        do { w = try JSONDecoder().decode(EscalationWeights.self, from: data) } catch {
            throw ModelError(.invalidFile, "escalation weights \(url.path): not valid JSON", cause: error)
        }
        guard w.inputDim == featureDim else {
            throw ModelError(.invalidFile, "escalation weights \(url.path) take \(w.inputDim) inputs per turn (an older forecaster); this build's takes \(featureDim): retrain with plutchik train-escalation")
        }
        let n = w.layout.count
        guard w.params.count == n, w.params.allSatisfy(\.isFinite) else {
            throw ModelError(.invalidFile, "escalation weights \(url.path): expected \(n) finite parameters, got \(w.params.count)")
        }
        return w
    }

    /// Writes the weights as JSON.
    public func save(_ url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try enc.encode(self).write(to: url, options: .atomic)
    }
}

/// Offsets of each tensor in the flat parameter block.
package struct EscalationLayout {
    package let D: Int, L: Int, M: Int
    package let Wz: Int, Uz: Int, bz: Int, Wr: Int, Ur: Int, br: Int, Wn: Int, Un: Int, bn: Int
    package let A1: Int, c1: Int, A2: Int, c2: Int, w2: Int, b2: Int, wl: Int, bl: Int
    package let count: Int

    package init(_ D: Int, _ L: Int, _ M: Int) {
        self.D = D; self.L = L; self.M = M
        var o = 0
        func take(_ n: Int) -> Int { defer { o += n }; return o }
        Wz = take(L * D); Uz = take(L * L); bz = take(L)
        Wr = take(L * D); Ur = take(L * L); br = take(L)
        Wn = take(L * D); Un = take(L * L); bn = take(L)
        A1 = take(M * L); c1 = take(M); A2 = take(L * M); c2 = take(L)
        w2 = take(L); b2 = take(1); wl = take(L); bl = take(1)
        count = o
    }
}
