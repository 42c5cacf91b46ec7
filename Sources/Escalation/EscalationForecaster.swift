import Foundation
import Contracts

/// The escalation forecaster: an ODE-RNN (Rubanova et al. 2019) over each dialogue's latent state.
///
/// Between turns the latent state h evolves by dh/dτ = f_θ(h) over the elapsed time, scaled as
/// τ = log1p(seconds / 60); at each turn a GRU cell updates h from the turn's emotion prediction and
/// conversational cues. The forecast integrates h forward from the turn: the next-2-turns risk is decoded
/// from h one typical reply gap later, and a hazard λ(h) integrated along the way gives the risk
/// within the time horizon and the median time to escalation. Thread-safe and stateless: the
/// per-dialogue state lives in `EscalationState`.
public struct EscalationForecaster: Sendable {
    /// Who spoke a turn. Only customer turns count towards escalation labels when roles are known;
    /// the role is not an input of the forecast (no training data has roles).
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
    /// When the manifest records the file's SHA-256, the file must match it.
    public init(directory: URL, file: String = "weights.json", horizonSeconds: Double = 120) throws {
        var alarm = EscalationAlarm()
        if let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
           let m = try? JSONDecoder().decode(EscalationManifest.self, from: data) {
            alarm = m.alarm
            if let sha = m.weightsSHA256?[file] {
                try SHA256.verify(fileAt: directory.appendingPathComponent(file), expected: sha, what: "escalation forecaster")
            }
        }
        let w = try EscalationWeights.load(directory.appendingPathComponent(file))
        self.init(weights: w, alarm: alarm, horizonSeconds: horizonSeconds)
    }

    /// A fresh state for a new dialogue.
    public func initialState() -> EscalationState { EscalationState(latentDim: weights.latentDim) }

    /// The forecaster's input for a turn: 32 probabilities, 8 primaries, intensity, sarcasm, the
    /// neutral gate, then the turn's `ConversationCues` (how it addresses the other side).
    /// Speaker roles are not an input: no training data has them (see the model card).
    public static func features(_ p: EmotionPrediction, text: String) -> [Float] {
        var x = p.probabilities + p.primaries
        x.append(p.intensity)
        x.append(p.sarcasm)
        x.append(p.neutral)
        x += ConversationCues.values(text)
        return x
    }

    /// Advances `state` to a new turn at `timestamp` (seconds; any epoch, non-decreasing per
    /// dialogue — a timestamp earlier than the last counts as no time elapsed) and forecasts.
    /// Every turn is evidence, a neutral one too (its gate value is an input), as in training;
    /// the time since the last turn is capped at the longest gap the weights were trained on.
    ///
    /// Throws if the state does not fit these weights (a stored state of another model) or the
    /// weights make the ODE non-finite.
    /// `alarm` replaces the model's thresholds for this turn (a tenant's own).
    public func update(_ state: inout EscalationState, prediction: EmotionPrediction, text: String,
                       timestamp: Double, alarm: EscalationAlarm? = nil) throws -> EscalationForecast {
        try update(&state, features: Self.features(prediction, text: text), timestamp: timestamp, alarm: alarm)
    }

    func update(_ state: inout EscalationState, features x: [Float], timestamp: Double,
                alarm: EscalationAlarm? = nil) throws -> EscalationForecast {
        let w = weights, l = w.layout, L = l.L, ode = w.ode
        guard x.count == l.D, state.h.count == L else {
            throw ModelError(.invalidInput, "escalation forecaster: input has \(x.count) values and state \(state.h.count); the weights need \(l.D) and \(L)")
        }
        let tauA = w.tau(w.nominalGapSeconds), tauH = w.tau(horizonSeconds), tauMax = w.tau(max(lookAheadSeconds, horizonSeconds))
        let elapsed = state.lastTimestamp.map { w.tau(timestamp - $0) } ?? 0
        var h = [Float](repeating: 0, count: L), hA = h
        var lambdaH: Float = 0, tte: Double?
        var finite = true
        w.params.withUnsafeBufferPointer { pb in
        x.withUnsafeBufferPointer { xb in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * (L + 1)) { buf in
            let p = pb.baseAddress!, z = buf.baseAddress!, scratch = z + (L + 1), cache = z + 6 * (L + 1)
            // 1. Evolve h over the elapsed time (fixed RK4 steps of ≤ maxStepTau, as in training).
            for i in 0..<L { z[i] = state.h[i] }
            z[L] = 0
            if elapsed > 0 && ode {
                let n = w.steps(elapsed), dt = Float(elapsed) / Float(n)
                for _ in 0..<n { finite = EscalationCell.rk4Step(z, dt: dt, scratch: scratch, p, l, ode: true) && finite }
            }
            // 2. GRU update from the turn.
            h.withUnsafeMutableBufferPointer { EscalationCell.gru($0.baseAddress!, cache, xb.baseAddress!, z, p, l) }
            // 3. Integrate forward from the turn through the marks τ(nominal gap), τ(horizon), τ(look-ahead):
            //    decode the next-2 risk at the first, Λ at the second, and find where Λ reaches ln 2.
            for i in 0..<L { z[i] = h[i] }
            z[L] = 0
            let marks = [tauA, tauH, tauMax].sorted()
            var from = 0.0, prevLambda: Float = 0
            let ln2 = Float(M_LN2)
            for mark in marks where mark > from {
                let span = mark - from, n = w.steps(span), dt = Float(span) / Float(n)
                for k in 1...n {
                    finite = EscalationCell.rk4Step(z, dt: dt, scratch: scratch, p, l, ode: ode) && finite
                    if tte == nil && z[L] >= ln2 {
                        let t0 = from + span * Double(k - 1) / Double(n), t1 = from + span * Double(k) / Double(n)
                        let frac = Double((ln2 - prevLambda) / max(z[L] - prevLambda, 1e-12))
                        tte = w.timeScaleSeconds * expm1(t0 + frac * (t1 - t0))
                    }
                    prevLambda = z[L]
                }
                from = mark
                if mark == tauA { for i in 0..<L { hA[i] = z[i] } }
                if mark == tauH { lambdaH = z[L] }
                if tte != nil && mark >= max(tauA, tauH) { break }
            }
        }
        }
        }
        guard finite else { throw ModelError(.solverNonFinite, "escalation forecaster: non-finite latent state") }
        var s = weights.params[l.b2]
        for i in 0..<L { s += weights.params[l.w2 + i] * hA[i] }
        let risk = EscalationCell.sigmoid(s)
        let riskH = 1 - exp(-lambdaH)

        var trend = EscalationForecast.Trend.steady
        if let prev = state.lastRisk {
            if risk - prev > trendThreshold { trend = .rising } else if prev - risk > trendThreshold { trend = .falling }
        }
        let alert = (alarm ?? self.alarm).update(armed: &state.armed, risk: risk)
        state.h = h
        state.lastTimestamp = max(timestamp, state.lastTimestamp ?? timestamp)
        state.lastRisk = risk
        state.turns += 1
        return EscalationForecast(risk: risk, riskHorizon: riskH, horizonSeconds: horizonSeconds, trend: trend,
                                  timeToEscalationSeconds: tte, alert: alert)
    }
}
