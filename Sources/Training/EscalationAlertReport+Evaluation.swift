import Escalation

extension EscalationAlertReport {
    /// Judges `alarm` on each dialogue's risk after every turn (`risks[k][i]`: dialogue k, turn i).
    public init(risks: [[Float]], dialogues: [EscalationDialogue], alarm: EscalationAlarm) {
        self.init(risks: risks, dialogues: dialogues, alarms: [EscalationAlarm](repeating: alarm, count: dialogues.count))
        self.alarm = alarm
    }

    /// Judges each dialogue with its own alarm (`alarms[k]` for dialogue k).
    public init(risks: [[Float]], dialogues: [EscalationDialogue], alarms: [EscalationAlarm]) {
        precondition(risks.count == dialogues.count && alarms.count == dialogues.count)
        self.init()
        var leadTurns: [Double] = [], leadSeconds: [Double] = []
        for ((series, d), alarm) in zip(zip(risks, dialogues), alarms) {
            // A lone utterance (one turn, nothing known to follow) is no conversation: an alert on it
            // can be neither early nor false, as its turn has no label.
            guard d.turns.count > 1 || d.outcome != nil else { loneTurns = (loneTurns ?? 0) + 1; continue }
            self.dialogues += 1
            var armed = true
            let alerts = series.indices.filter { alarm.update(armed: &armed, risk: series[$0]) }
            if let e = d.firstEscalation {
                escalatingDialogues += 1
                if let j = alerts.first, j < e {
                    caught += 1
                    leadTurns.append(Double(e - j))
                    leadSeconds.append(d.timestamp(e) - d.timestamp(j))
                }
            } else if !alerts.isEmpty {
                falseAlerts += alerts.count
                falselyAlertedDialogues += 1
            }
        }
        let calm = self.dialogues - escalatingDialogues
        precision = caught + falselyAlertedDialogues > 0 ? Double(caught) / Double(caught + falselyAlertedDialogues) : nil
        recall = escalatingDialogues > 0 ? Double(caught) / Double(escalatingDialogues) : nil
        falseAlertsPer100Calm = calm > 0 ? 100 * Double(falseAlerts) / Double(calm) : nil
        medianLeadTurns = Self.median(leadTurns)
        medianLeadSeconds = Self.median(leadSeconds)
    }

    static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// The alarm for an upper threshold: re-armed 0.2 below it (at most halfway down), as the default 0.6/0.4.
    public static func alarm(upper: Float) -> EscalationAlarm {
        EscalationAlarm(upper: upper, lower: max(upper - 0.2, upper / 2))
    }

    /// The alarm, among upper thresholds 0.05…0.95 in steps of 0.01, that catches the most escalating
    /// dialogues with at most `maxFalseAlertsPer100Calm` false alerts per 100 calm ones (ties: the
    /// higher threshold); the quietest one when none stays within the budget.
    public static func choose(risks: [[Float]], dialogues: [EscalationDialogue], maxFalseAlertsPer100Calm: Double) -> EscalationAlarm {
        var best: (report: EscalationAlertReport, within: Bool)?
        for step in stride(from: 95, through: 5, by: -1) {
            let r = EscalationAlertReport(risks: risks, dialogues: dialogues, alarm: alarm(upper: Float(step) / 100))
            let within = (r.falseAlertsPer100Calm ?? 0) <= maxFalseAlertsPer100Calm
            guard let b = best else { best = (r, within); continue }
            if within && (!b.within || r.caught > b.report.caught) { best = (r, true) }
            else if !within && !b.within && r.falseAlerts < b.report.falseAlerts { best = (r, false) }
        }
        return best!.report.alarm!
    }
}
