import Contracts
import Escalation

/// The forecaster's outputs after every turn of a set of dialogues (`risk[k][i]`: dialogue k, turn i).
public struct EscalationSeries: Sendable {
    public var risk: [[Float]] = []
    public var horizonRisk: [[Float]] = []
    /// The GRU baseline's risk, when one ran.
    public var gruRisk: [[Float]]?
    /// The horizon the horizon risk looks ahead, in seconds.
    public var horizonSeconds: Double = 120

    public init() {}

    /// Runs the forecaster (and the GRU baseline, if given) over every dialogue turn by turn through
    /// the public `update` API.
    public init(_ dialogues: [EscalationDialogue], forecaster: EscalationForecaster, gru: EscalationForecaster? = nil) throws {
        horizonSeconds = forecaster.horizonSeconds
        if gru != nil { gruRisk = [] }
        for d in dialogues {
            var s = forecaster.initialState(), g = gru?.initialState()
            var r: [Float] = [], h: [Float] = [], gr: [Float] = []
            for t in d.turns {
                let f = try forecaster.update(&s, prediction: t.input, text: t.text, timestamp: t.timestamp)
                r.append(f.risk); h.append(f.riskHorizon)
                if let gru, g != nil { gr.append(try gru.update(&g!, prediction: t.input, text: t.text, timestamp: t.timestamp).risk) }
            }
            risk.append(r); horizonRisk.append(h)
            if gru != nil { gruRisk!.append(gr) }
        }
    }

    /// How many alerts `alarm` fires over the forecaster's risks, every dialogue armed at its start.
    public func alerts(_ alarm: EscalationAlarm) -> Int {
        risk.reduce(0) { n, risks in
            var armed = true
            return n + risks.filter { alarm.update(armed: &armed, risk: $0) }.count
        }
    }

    /// The series of the dialogues at `indices`, in that order.
    public func subset(_ indices: [Int]) -> EscalationSeries {
        var s = EscalationSeries()
        s.horizonSeconds = horizonSeconds
        s.risk = indices.map { risk[$0] }; s.horizonRisk = indices.map { horizonRisk[$0] }
        s.gruRisk = gruRisk.map { g in indices.map { g[$0] } }
        return s
    }
}

extension EscalationReport {
    /// Runs the forecaster (and the GRU baseline, if given) over every dialogue and scores it.
    public static func evaluate(_ dialogues: [EscalationDialogue], forecaster: EscalationForecaster,
                                gru: EscalationForecaster? = nil) throws -> EscalationReport {
        let series = try EscalationSeries(dialogues, forecaster: forecaster, gru: gru)
        var r = EscalationReport(dialogues, series: series)
        r.alerts = series.alerts(forecaster.alarm)
        return r
    }

    /// Scores precomputed series: next-2-turns AUROC and PR-AUC for the forecaster, the GRU
    /// baseline and persistence (the turn's anger + disgust primaries), the horizon risk's AUROC
    /// and calibration, and AUROC by the gap before the turn.
    public init(_ dialogues: [EscalationDialogue], series: EscalationSeries) {
        self.init()
        var y: [Bool] = [], ode: [Float] = [], base: [Float] = [], rnn: [Float] = [], gap: [Double] = []
        var yH: [Bool] = [], odeH: [Float] = []
        let anger = PlutchikSector.anger.rawValue, disgust = PlutchikSector.disgust.rawValue
        for (k, d) in dialogues.enumerated() {
            self.dialogues += 1
            if d.firstEscalation != nil { escalatingDialogues += 1 }
            for (i, t) in d.turns.enumerated() {
                guard let label = d.label(at: i) else { continue }
                y.append(label); ode.append(series.risk[k][i]); rnn.append(series.gruRisk?[k][i] ?? 0)
                gap.append(i == 0 ? 0 : t.timestamp - d.turns[i - 1].timestamp)
                base.append(t.input.primaries[anger] + t.input.primaries[disgust])
                if let h = d.horizonLabel(at: i, seconds: series.horizonSeconds) { yH.append(h); odeH.append(series.horizonRisk[k][i]) }
            }
        }
        turns = y.count
        positives = y.filter { $0 }.count
        auroc = EscalationMetrics.auroc(ode, y); prAUC = EscalationMetrics.averagePrecision(ode, y)
        aurocPersistence = EscalationMetrics.auroc(base, y); prAUCPersistence = EscalationMetrics.averagePrecision(base, y)
        if series.gruRisk != nil { aurocGRU = EscalationMetrics.auroc(rnn, y); prAUCGRU = EscalationMetrics.averagePrecision(rnn, y) }
        horizonAUROC = EscalationMetrics.auroc(odeH, yH)
        horizonReliability = EscalationMetrics.reliability(odeH, yH)
        var bands: [String: Double] = [:]
        for (name, range) in Self.gapBands {
            let idx = gap.indices.filter { range.contains(gap[$0]) }
            if let a = EscalationMetrics.auroc(idx.map { ode[$0] }, idx.map { y[$0] }) { bands[name] = a }
        }
        aurocByGap = bands
    }

    /// The bands of the gap before a turn that `aurocByGap` reports (the first turn falls in the first).
    public static let gapBands: [(String, Range<Double>)] = [
        ("0-30s", 0..<30), ("30-120s", 30..<120), ("120-600s", 120..<600), ("600s+", 600..<Double.infinity),
    ]
}
