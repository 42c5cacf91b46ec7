/// Ranking metrics for a binary forecast.
public enum EscalationMetrics {
    /// Area under the ROC curve (ties count half); nil without both classes.
    public static func auroc(_ scores: [Float], _ labels: [Bool]) -> Double? {
        let pos = labels.filter { $0 }.count, neg = labels.count - pos
        guard pos > 0, neg > 0 else { return nil }
        // Mann–Whitney U with average ranks for ties.
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPos = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let avgRank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] { rankSumPos += avgRank }
            i = j + 1
        }
        return (rankSumPos - Double(pos) * Double(pos + 1) / 2) / (Double(pos) * Double(neg))
    }

    /// Area under the precision–recall curve as average precision (Σ ΔRecall·Precision over
    /// thresholds, tied scores taken together); nil without positives.
    public static func averagePrecision(_ scores: [Float], _ labels: [Bool]) -> Double? {
        let pos = labels.filter { $0 }.count
        guard pos > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, fp = 0, ap = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            var newTP = 0
            for k in i...j { if labels[order[k]] { newTP += 1 } else { fp += 1 } }
            tp += newTP
            ap += Double(newTP) / Double(pos) * Double(tp) / Double(tp + fp)
            i = j + 1
        }
        return ap
    }
}

/// Escalation metrics over a file's dialogues, for the next-2-turns label at every turn that has
/// a next turn. Keys match the `plutchik eval` report.
public struct EscalationReport: Sendable, Codable, Equatable {
    /// Dialogues and scored turns (turns with at least one next turn), and positives among them.
    public var dialogues = 0
    public var turns = 0
    public var positives = 0
    /// The ODE forecaster's next-2-turns risk.
    public var auroc: Double?
    public var prAUC: Double?
    /// Persistence: the current turn's anger + disgust primary scores.
    public var aurocPersistence: Double?
    public var prAUCPersistence: Double?
    /// The discrete GRU baseline (same cell, no ODE).
    public var aurocGRU: Double?
    public var prAUCGRU: Double?
    /// The ODE forecaster's riskHorizon against "an escalation turn within horizonSeconds".
    public var horizonAUROC: Double?
    /// Alerts fired, and the dialogues with at least one escalation turn after their first turn.
    public var alerts = 0
    public var escalatingDialogues = 0

    enum CodingKeys: String, CodingKey {
        case dialogues = "escalation_dialogues", turns = "escalation_turns", positives = "escalation_positives"
        case auroc = "escalation_auroc", prAUC = "escalation_pr_auc"
        case aurocPersistence = "escalation_auroc_persistence", prAUCPersistence = "escalation_pr_auc_persistence"
        case aurocGRU = "escalation_auroc_gru", prAUCGRU = "escalation_pr_auc_gru"
        case horizonAUROC = "escalation_horizon_auroc"
        case alerts = "escalation_alerts", escalatingDialogues = "escalation_escalating_dialogues"
    }

    public init() {}

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
