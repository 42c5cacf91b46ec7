import Contracts
import Escalation

extension EscalationTrainer {
    /// Each dialogue's fold (a hash of its id mod `folds`) and the forecasters' outputs on it from
    /// models trained on the other folds: every figure drawn from it is out of fold.
    public struct CrossValidation: Sendable {
        public var folds: Int
        public var fold: [Int]
        /// The ODE forecaster's series, with the GRU baseline's risk.
        public var series: EscalationSeries
    }

    /// The cross-validation fold of a dialogue: FNV-1a of "escalation-cv:" + its id, mod `folds`.
    static func crossValidationFold(_ id: String, folds: Int) -> Int {
        Int(EscalationRandom.fnv1a("escalation-cv:" + id) % UInt64(folds))
    }

    /// Trains the GRU and the ODE-RNN (from the GRU when `odeFromGRU`) `folds` times, each time
    /// without one fold (and with every dialogue of `alsoTrainOn`, which is never scored), and runs
    /// them on that fold.
    public static func crossValidate(_ dialogues: [EscalationDialogue], alsoTrainOn extra: [EscalationDialogue] = [], folds: Int,
                                     options o: Options, gaps: EscalationGaps, odeFromGRU: Bool = true,
                                     log: (String) -> Void = { _ in }) throws -> CrossValidation {
        precondition(folds >= 2)
        let fold = dialogues.map { crossValidationFold($0.id, folds: folds) }
        var risk = [[Float]](repeating: [], count: dialogues.count), horizon = risk, gruRisk = risk
        var horizonSeconds = o.horizonSeconds
        for k in 0..<folds {
            let inIdx = dialogues.indices.filter { fold[$0] != k }, outIdx = dialogues.indices.filter { fold[$0] == k }
            let data = inIdx.map { dialogues[$0] } + extra
            let gru = train(data, ode: false, options: o, gaps: gaps)
            let ode = train(data, ode: true, options: o, gaps: gaps, initial: odeFromGRU ? gru.weights : nil)
            let forecaster = EscalationForecaster(weights: ode.weights)
            horizonSeconds = forecaster.horizonSeconds
            let s = try EscalationSeries(outIdx.map { dialogues[$0] }, forecaster: forecaster, gru: EscalationForecaster(weights: gru.weights))
            for (j, i) in outIdx.enumerated() { risk[i] = s.risk[j]; horizon[i] = s.horizonRisk[j]; gruRisk[i] = s.gruRisk![j] }
            log("cross-validation fold \(k + 1)/\(folds): trained on \(inIdx.count) dialogues, scored \(outIdx.count) (best epochs GRU \(gru.bestEpoch), ODE \(ode.bestEpoch))")
        }
        var series = EscalationSeries()
        series.risk = risk; series.horizonRisk = horizon; series.gruRisk = gruRisk; series.horizonSeconds = horizonSeconds
        return CrossValidation(folds: folds, fold: fold, series: series)
    }
}

extension EscalationCrossValidationReport.DerailmentFigures {
    /// The figures of the dialogues with an outcome (the others are left out).
    public init(_ dialogues: [EscalationDialogue], series: EscalationSeries) {
        self.init()
        let idx = dialogues.indices.filter { dialogues[$0].outcome != nil }
        let y = idx.map { dialogues[$0].outcome!.escalates }
        /// AUROC and accuracy at 0.5 of the risk after each conversation's last comment.
        func figures(_ risks: [[Float]]) -> (auroc: Double?, accuracy: Double) {
            let r = idx.map { risks[$0].last! }
            return (EscalationMetrics.auroc(r, y), Double(zip(r, y).filter { ($0 >= 0.5) == $1 }.count) / Double(max(idx.count, 1)))
        }
        conversations = idx.count
        derailing = y.filter { $0 }.count
        (auroc, accuracy) = figures(series.risk)
        if let g = series.gruRisk { (aurocGRU, accuracyGRU) = figures(g) }
    }
}

extension EscalationCrossValidationReport {
    /// Scores a cross-validation: out-of-fold figures, and alerts judged with thresholds chosen on
    /// the other folds' seed dialogues (those without an outcome) under the false-alert budget.
    public init(_ dialogues: [EscalationDialogue], cv: EscalationTrainer.CrossValidation, maxFalseAlertsPer100Calm: Double) {
        let seedIdx = dialogues.indices.filter { dialogues[$0].outcome == nil }
        let derailIdx = dialogues.indices.filter { dialogues[$0].outcome != nil }
        let seedDialogues = seedIdx.map { dialogues[$0] }, seedRisks = seedIdx.map { cv.series.risk[$0] }
        func choose(_ idx: [Int]) -> EscalationAlarm {
            EscalationAlertReport.choose(risks: idx.map { cv.series.risk[$0] }, dialogues: idx.map { dialogues[$0] },
                                         maxFalseAlertsPer100Calm: maxFalseAlertsPer100Calm)
        }
        let perFold = (0..<cv.folds).map { k in choose(seedIdx.filter { cv.fold[$0] != k }) }
        self.init(method: "\(cv.folds)-fold cross-validation over dialogues (FNV-1a of 'escalation-cv:' + dialogue_id mod \(cv.folds)): the GRU and the ODE-RNN trained on the other folds (epochs chosen on their own hash hold-out) score each fold. Alerts: each fold's upper threshold (re-armed 0.2 below) chosen on the other folds' seed dialogues as the one catching most escalating dialogues within \(maxFalseAlertsPer100Calm) false alerts per 100 calm ones, then judged on the fold (nested: selection and report on different dialogues); the shipped alarm is chosen the same way on every fold's out-of-fold risks.",
                  folds: cv.folds, chosenAlarm: choose(seedIdx), maxFalseAlertsPer100Calm: maxFalseAlertsPer100Calm)
        if !seedIdx.isEmpty {
            seed = EscalationReport(seedDialogues, series: cv.series.subset(seedIdx))
            seedAlerts = EscalationAlertReport(risks: seedRisks, dialogues: seedDialogues, alarms: seedIdx.map { perFold[cv.fold[$0]] })
        }
        if !derailIdx.isEmpty {
            derailment = DerailmentFigures(dialogues, series: cv.series)
            derailmentAlerts = EscalationAlertReport(risks: derailIdx.map { cv.series.risk[$0] }, dialogues: derailIdx.map { dialogues[$0] },
                                                     alarms: derailIdx.map { perFold[cv.fold[$0]] })
        }
    }
}
