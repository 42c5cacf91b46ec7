import Foundation

/// The escalation forecaster: an ODE-RNN (Rubanova et al. 2019) over each dialogue's latent state.
///
/// Between turns the latent state h evolves by dh/dτ = f_θ(h) over the elapsed time, scaled as
/// τ = log1p(seconds / 60); at each turn a GRU cell updates h from the turn's emotion prediction and
/// speaker role. The forecast integrates h forward from the turn: the next-2-turns risk is decoded
/// from h one typical reply gap later, and a hazard λ(h) integrated along the way gives the risk
/// within the time horizon and the median time to escalation. Thread-safe and stateless: the
/// per-dialogue state lives in `EscalationState`.
public struct EscalationForecaster: Sendable {
    /// Who spoke a turn. Only customer turns count as escalation when roles are known.
    public enum Role: String, Sendable, Codable, CaseIterable {
        case customer, agent, unknown
    }

    /// The trained parameters and their settings.
    public let weights: EscalationWeights
    /// The alert hysteresis.
    public var alarm: EscalationAlarm
    /// The horizon of `EscalationForecast.riskHorizon`, in seconds.
    public var horizonSeconds: Double
    /// How far ahead the time to escalation is looked for, in seconds.
    public var lookAheadSeconds: Double = 600
    /// A risk change beyond ± this since the previous turn is a rising/falling trend.
    public var trendThreshold: Float = 0.05

    public init(weights: EscalationWeights, alarm: EscalationAlarm = EscalationAlarm(), horizonSeconds: Double = 120) {
        self.weights = weights
        self.alarm = alarm
        self.horizonSeconds = horizonSeconds
    }

    /// Loads `file` (default `weights.json`, the ODE model; `gru.json` is the discrete baseline)
    /// from a model directory, and the alarm thresholds from its `manifest.json` when present.
    public init(directory: URL, file: String = "weights.json", horizonSeconds: Double = 120) throws {
        let w = try EscalationWeights.load(directory.appendingPathComponent(file))
        var alarm = EscalationAlarm()
        if let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
           let m = try? JSONDecoder().decode(EscalationManifest.self, from: data) {
            alarm = m.alarm
        }
        self.init(weights: w, alarm: alarm, horizonSeconds: horizonSeconds)
    }

    /// A fresh state for a new dialogue.
    public func initialState() -> EscalationState { EscalationState(latentDim: weights.latentDim) }

    /// The forecaster's input for a turn: 32 probabilities, 8 primaries, intensity, sarcasm, role one-hot.
    public static func features(_ p: EmotionPrediction, role: Role) -> [Float] {
        var x = p.probabilities + p.primaries
        x.append(p.intensity)
        x.append(p.sarcasm)
        for r in Role.allCases { x.append(r == role ? 1 : 0) }
        return x
    }

    /// Advances `state` to a new turn at `timestamp` (seconds; any epoch, non-decreasing per
    /// dialogue — a timestamp earlier than the last counts as no time elapsed) and forecasts.
    ///
    /// Throws only if the weights make the ODE non-finite.
    public func update(_ state: inout EscalationState, prediction: EmotionPrediction, role: Role = .unknown,
                       timestamp: Double) throws -> EscalationForecast {
        try update(&state, features: Self.features(prediction, role: role), timestamp: timestamp)
    }

    func update(_ state: inout EscalationState, features x: [Float], timestamp: Double) throws -> EscalationForecast {
        let w = weights, l = w.layout, L = l.L
        precondition(x.count == l.D && state.h.count == L, "input or state does not match the weights")
        return try w.params.withUnsafeBufferPointer { pb in
            let p = pb.baseAddress!
            let field: (inout [Float], [Float], Float) -> Void = { dz, z, _ in
                dz.withUnsafeMutableBufferPointer { d in z.withUnsafeBufferPointer { EscalationCell.field(d.baseAddress!, $0.baseAddress!, p, l, ode: w.ode) } }
            }
            // 1. Evolve h over the elapsed time.
            var z = state.h + [0]
            if let last = state.lastTimestamp {
                let tau = w.tau(timestamp - last)
                if tau > 0 && w.ode { try rk4(&z, from: 0, to: Float(tau) / Float(w.steps(tau)), steps: 1, repeating: w.steps(tau), field) }
            }
            // 2. GRU update from the turn.
            var h = [Float](repeating: 0, count: L), cache = [Float](repeating: 0, count: 3 * L)
            x.withUnsafeBufferPointer { xb in z.withUnsafeBufferPointer { zb in
                h.withUnsafeMutableBufferPointer { hb in cache.withUnsafeMutableBufferPointer { cb in
                    EscalationCell.gru(hb.baseAddress!, cb.baseAddress!, xb.baseAddress!, zb.baseAddress!, p, l)
                } }
            } }
            // 3. Integrate forward: decode the next-2 risk at τ(nominal gap), Λ at τ(horizon), and
            //    find where Λ reaches ln 2 within the look-ahead.
            let tauA = w.tau(w.nominalGapSeconds), tauH = w.tau(horizonSeconds), tauMax = w.tau(max(lookAheadSeconds, horizonSeconds))
            let marks = Array(Set([0, tauA, tauH, tauMax])).sorted()
            z = h + [0]
            var hA = h, lambdaH: Float = 0, tte: Double?
            var prevTau = 0.0, prevLambda: Float = 0
            let ln2 = Float(M_LN2)
            for s in 1..<marks.count {
                let span = marks[s] - marks[s - 1], n = w.steps(span)
                let dt = Float(span) / Float(n)
                for k in 1...n {
                    try rk4(&z, from: 0, to: dt, steps: 1, field)
                    let t = marks[s - 1] + span * Double(k) / Double(n)
                    if tte == nil && z[L] >= ln2 {
                        let frac = Double((ln2 - prevLambda) / max(z[L] - prevLambda, 1e-12))
                        tte = w.timeScaleSeconds * expm1(prevTau + frac * (t - prevTau))
                    }
                    prevTau = t; prevLambda = z[L]
                }
                if marks[s] == tauA { hA = Array(z[0..<L]) }
                if marks[s] == tauH { lambdaH = z[L] }
                if tte != nil && marks[s] >= max(tauA, tauH) { break }
            }
            var s = p[l.b2]
            for i in 0..<L { s += p[l.w2 + i] * hA[i] }
            let risk = EscalationCell.sigmoid(s)
            let riskH = 1 - exp(-lambdaH)

            var trend = EscalationForecast.Trend.steady
            if let prev = state.lastRisk {
                if risk - prev > trendThreshold { trend = .rising } else if prev - risk > trendThreshold { trend = .falling }
            }
            let alert = alarm.update(armed: &state.armed, risk: risk)
            state.h = h
            state.lastTimestamp = max(timestamp, state.lastTimestamp ?? timestamp)
            state.lastRisk = risk
            state.turns += 1
            return EscalationForecast(risk: risk, riskHorizon: riskH, horizonSeconds: horizonSeconds, trend: trend,
                                      timeToEscalationSeconds: tte, alert: alert)
        }
    }
}

/// Repeats a one-step RK4 `repeating` times (the same step size each time, as in training).
func rk4(_ y: inout [Float], from t0: Float, to t1: Float, steps: Int, repeating: Int,
         _ f: (inout [Float], [Float], Float) -> Void) throws {
    for _ in 0..<repeating { try rk4(&y, from: t0, to: t1, steps: steps, f) }
}
