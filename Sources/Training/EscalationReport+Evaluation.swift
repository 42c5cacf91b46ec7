import Contracts
import Escalation

extension EscalationReport {
    /// Runs the forecaster (and the GRU baseline, if given) over every dialogue turn by turn through
    /// the public `update` API, and scores them with the persistence baseline.
    public static func evaluate(_ dialogues: [EscalationDialogue], forecaster: EscalationForecaster,
                                gru: EscalationForecaster? = nil) throws -> EscalationReport {
        var r = EscalationReport()
        var y: [Bool] = [], ode: [Float] = [], base: [Float] = [], rnn: [Float] = []
        var yH: [Bool] = [], odeH: [Float] = []
        let anger = PlutchikSector.anger.rawValue, disgust = PlutchikSector.disgust.rawValue
        for d in dialogues {
            r.dialogues += 1
            if d.turns.dropFirst().contains(where: { $0.countsAsCustomer && $0.emotion.isEscalation }) { r.escalatingDialogues += 1 }
            var s = forecaster.initialState(), g = gru?.initialState()
            for (i, t) in d.turns.enumerated() {
                let f = try forecaster.update(&s, prediction: t.input, role: t.role, timestamp: t.timestamp)
                if f.alert { r.alerts += 1 }
                var gr: Float = 0
                if let gru, g != nil { gr = try gru.update(&g!, prediction: t.input, role: t.role, timestamp: t.timestamp).risk }
                guard let label = d.label(at: i) else { continue }
                y.append(label); ode.append(f.risk); rnn.append(gr)
                base.append(t.input.primaries[anger] + t.input.primaries[disgust])
                if let h = d.horizonLabel(at: i, seconds: forecaster.horizonSeconds) { yH.append(h); odeH.append(f.riskHorizon) }
            }
        }
        r.turns = y.count
        r.positives = y.filter { $0 }.count
        r.auroc = EscalationMetrics.auroc(ode, y); r.prAUC = EscalationMetrics.averagePrecision(ode, y)
        r.aurocPersistence = EscalationMetrics.auroc(base, y); r.prAUCPersistence = EscalationMetrics.averagePrecision(base, y)
        if gru != nil { r.aurocGRU = EscalationMetrics.auroc(rnn, y); r.prAUCGRU = EscalationMetrics.averagePrecision(rnn, y) }
        r.horizonAUROC = EscalationMetrics.auroc(odeH, yH)
        return r
    }
}
