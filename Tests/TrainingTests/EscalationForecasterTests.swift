import Foundation
import Testing
@testable import Contracts
@testable import Escalation
@testable import Training

@Suite struct EscalationForecasterTests {
    /// A small fixture: three dialogues, one of them escalating.
    static let fixture = """
    {"dialogue_id": "A", "turn_id": 1, "speaker": "Customer", "text": "My order never arrived.", "emotion": "annoyance", "sarcasm_flag": false}
    {"dialogue_id": "A", "turn_id": 2, "speaker": "Agent", "text": "Sorry to hear that, let me check.", "emotion": "acceptance", "sarcasm_flag": false}
    {"dialogue_id": "A", "turn_id": 3, "speaker": "Customer", "text": "This is the third time. Unbelievable.", "emotion": "anger", "sarcasm_flag": false}
    {"dialogue_id": "A", "turn_id": 4, "speaker": "Customer", "text": "Oh great, another 'check'. Wonderful service.", "emotion": "contempt", "sarcasm_flag": true}
    {"dialogue_id": "A", "turn_id": 5, "speaker": "Agent", "text": "I have issued a full refund.", "emotion": "trust", "sarcasm_flag": false}
    {"dialogue_id": "B", "turn_id": 2, "speaker": "P2", "text": "Sounds lovely!", "emotion": "joy", "sarcasm_flag": false}
    {"dialogue_id": "B", "turn_id": 1, "speaker": "P1", "text": "We are going to the lake on Sunday.", "emotion": "anticipation", "sarcasm_flag": false}
    {"dialogue_id": "C", "turn_id": 1, "speaker": "P1", "text": "Just one turn here.", "emotion": "serenity"}
    """

    static func dialogues() throws -> [EscalationDialogue] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("escalation-fixture-\(UUID().uuidString).jsonl")
        try fixture.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try EscalationDialogue.load(url, seed: 7)
    }

    /// Small random weights (larger than the trainer's initialisation, so every path matters).
    static func randomWeights(ode: Bool, latent: Int = 4, hidden: Int = 5, seed: UInt64 = 3) -> EscalationWeights {
        var w = EscalationWeights(latentDim: latent, hiddenDim: hidden, ode: ode, nominalGapSeconds: 20)
        var rng = EscalationRandom(seed: seed)
        for i in w.params.indices { w.params[i] = Float(rng.uniform() * 1.2 - 0.6) }
        return w
    }

    @Test func loadsDialoguesInTurnOrderWithLabels() throws {
        let d = try Self.dialogues()
        #expect(d.map(\.id) == ["A", "B", "C"])
        #expect(d[1].turns.map(\.emotion) == [.anticipation, .joy])
        let a = d[0]
        #expect((0..<5).map { a.label(at: $0) } == [true, true, true, false, nil])
        #expect(a.turns[3].input.sarcasm == 1 && a.turns[2].input.probabilities[PlutchikEmotion.anger.index] == 1)
        // Timestamps start at 0, strictly increase, and are the same for the same seed.
        #expect(a.turns[0].timestamp == 0)
        #expect(zip(a.turns, a.turns.dropFirst()).allSatisfy { $0.timestamp < $1.timestamp })
        #expect(try Self.dialogues()[0].turns.map(\.timestamp) == a.turns.map(\.timestamp))
    }

    @Test func synthesisedGapsHaveTheDocumentedMedian() {
        let g = EscalationGaps()
        var gaps: [Double] = []
        for k in 0..<4000 {
            let t = g.timestamps(characters: [0, 0], dialogueID: "d\(k)", seed: 1)
            gaps.append(t[1])
        }
        gaps.sort()
        let median = gaps[gaps.count / 2]
        #expect(abs(median - 6) < 0.6, "median latency \(median)")
        #expect(gaps.first! >= 1 && gaps.last! <= 3600)
    }

    /// Analytic gradients (through the GRU cell, the gap ODE and the forecast ODE) match central
    /// differences of the loss, for the ODE-RNN and the GRU baseline.
    @Test(arguments: [true, false])
    func gradientCheck(ode: Bool) throws {
        let d = try Self.dialogues()[0]
        var w = Self.randomWeights(ode: ode)
        var grad = [Float](repeating: 0, count: w.params.count)
        _ = EscalationTrainer.lossAndGradient(d, w, horizonSeconds: 120, horizonWeight: 0.5, grad: &grad)
        let l = w.layout
        // Every tensor's first and last entries, plus a spread of others.
        var idx = [l.Wz, l.Uz, l.bz, l.Wr, l.Ur, l.br, l.Wn, l.Un, l.bn, l.A1, l.c1, l.A2, l.c2, l.w2, l.b2, l.wl, l.bl]
        idx += stride(from: 1, to: w.params.count, by: 7).map { $0 }
        var worst: Float = 0
        for i in idx {
            let p0 = w.params[i], eps: Float = 1e-2
            var scratch = grad
            w.params[i] = p0 + eps
            let up = EscalationTrainer.lossAndGradient(d, w, horizonSeconds: 120, horizonWeight: 0.5, grad: &scratch).loss
            w.params[i] = p0 - eps
            let down = EscalationTrainer.lossAndGradient(d, w, horizonSeconds: 120, horizonWeight: 0.5, grad: &scratch).loss
            w.params[i] = p0
            let numeric = (up - down) / (2 * eps)
            let err = abs(numeric - grad[i]) / max(1e-2, abs(numeric) + abs(grad[i]))
            worst = max(worst, err)
            #expect(err < 2e-2, "param \(i): analytic \(grad[i]) numeric \(numeric)")
        }
        if !ode {
            // No field: its parameters get no gradient.
            #expect(grad[l.A1..<l.w2].allSatisfy { $0 == 0 })
        }
    }

    /// The public per-turn `update` computes exactly the risk the trainer optimises, on an
    /// emotional turn and on a neutral one alike (one evidence rule in training and serving).
    @Test(arguments: [(true, false), (false, false), (true, true), (false, true)])
    func forecasterMatchesTheTrainingForwardPass(ode: Bool, neutral: Bool) throws {
        var d = try Self.dialogues()[0]
        d.turns = Array(d.turns[2...4])          // two labelled turns (labels true, false)
        if neutral { d.turns[1].input.neutral = 0.9; d.turns[1].input.isNeutral = true }
        let w = Self.randomWeights(ode: ode)
        var grad = [Float](repeating: 0, count: w.params.count)
        let loss = EscalationTrainer.lossAndGradient(d, w, horizonSeconds: 120, horizonWeight: 0, grad: &grad).loss
        let f = EscalationForecaster(weights: w)
        var s = f.initialState()
        let r0 = try f.update(&s, prediction: d.turns[0].input, text: d.turns[0].text, timestamp: d.turns[0].timestamp)
        let r1 = try f.update(&s, prediction: d.turns[1].input, text: d.turns[1].text, timestamp: d.turns[1].timestamp)
        // loss = −log(risk₀) − log(1 − risk₁)
        #expect(abs(Double(-log(r0.risk) - log(1 - r1.risk)) - Double(loss)) < 1e-4)
    }

    @Test func forecastIsWellFormedAndStateRoundTrips() throws {
        let dialogues = try Self.dialogues()
        let f = EscalationForecaster(weights: Self.randomWeights(ode: true, latent: 16, hidden: 32))
        var s = f.initialState()
        for t in dialogues[0].turns {
            let r = try f.update(&s, prediction: t.input, text: t.text, timestamp: 1_700_000_000 + t.timestamp)
            #expect((0...1).contains(r.risk) && (0...1).contains(r.riskHorizon) && r.horizonSeconds == 120)
            if let tte = r.timeToEscalationSeconds { #expect(tte >= 0 && tte <= 600) }
        }
        #expect(s.turns == 5 && s.lastRisk != nil)
        // Out-of-order timestamps count as no elapsed time.
        _ = try f.update(&s, prediction: dialogues[0].turns[0].input, text: "", timestamp: 0)
        #expect(s.lastTimestamp == 1_700_000_000 + dialogues[0].turns[4].timestamp)
        let json = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(EscalationState.self, from: json) == s)
        #expect(json.count < 400, "state is \(json.count) bytes")
    }

    /// A longer horizon never lowers the within-horizon risk (the hazard is non-negative).
    @Test func horizonRiskGrowsWithTheHorizon() throws {
        let w = Self.randomWeights(ode: true)
        let t = try Self.dialogues()[0].turns[2]
        var last: Float = 0
        for horizon in [60.0, 120, 300, 900] {
            let f = EscalationForecaster(weights: w, horizonSeconds: horizon)
            var s = f.initialState()
            let r = try f.update(&s, prediction: t.input, text: t.text, timestamp: 0).riskHorizon
            #expect(r >= last)
            last = r
        }
    }

    @Test func trainingIsReproducibleAndWeightsRoundTrip() throws {
        let d = try Self.dialogues()
        var o = EscalationTrainer.Options()
        o.epochs = 3; o.latentDim = 4; o.hiddenDim = 6; o.holdoutPercent = 0
        let a = EscalationTrainer.train(d, ode: true, options: o, gaps: EscalationGaps())
        let b = EscalationTrainer.train(d, ode: true, options: o, gaps: EscalationGaps())
        #expect(a.weights == b.weights)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("esc-w-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try a.weights.save(url)
        #expect(try EscalationWeights.load(url) == a.weights)
    }

    /// Started from a GRU with a still field, the ODE-RNN forecasts exactly as the GRU (its epoch 0),
    /// and training keeps it unless an epoch lowers the hold-out loss.
    @Test func anODEStartedFromTheGRUNestsIt() throws {
        let d = try Self.dialogues()
        var o = EscalationTrainer.Options()
        o.epochs = 3; o.latentDim = 4; o.hiddenDim = 6; o.holdoutPercent = 0
        let gru = EscalationTrainer.train(d, ode: false, options: o, gaps: EscalationGaps())
        o.epochs = 0
        let still = EscalationTrainer.train(d, ode: true, options: o, gaps: EscalationGaps(), initial: gru.weights)
        #expect(still.weights.ode && still.bestEpoch == 0)
        let f = EscalationForecaster(weights: still.weights), g = EscalationForecaster(weights: gru.weights)
        var sf = f.initialState(), sg = g.initialState()
        for (k, t) in d[0].turns.enumerated() {
            let a = try f.update(&sf, prediction: t.input, text: t.text, timestamp: Double(k) * 45)
            let b = try g.update(&sg, prediction: t.input, text: t.text, timestamp: Double(k) * 45)
            #expect(abs(a.risk - b.risk) < 1e-6)
        }
    }

    /// A gap beyond the trained range is read as the longest trained gap, never extrapolated.
    @Test func gapsAreCappedAtTheTrainedRange() throws {
        var w = Self.randomWeights(ode: true)
        w.maxElapsedSeconds = 300
        let f = EscalationForecaster(weights: w), t = try Self.dialogues()[0].turns[1]
        var a = f.initialState()
        _ = try f.update(&a, prediction: t.input, text: t.text, timestamp: 0)
        var b = a, c = a
        let ra = try f.update(&a, prediction: t.input, text: t.text, timestamp: 300)
        let rb = try f.update(&b, prediction: t.input, text: t.text, timestamp: 30_000)
        _ = try f.update(&c, prediction: t.input, text: t.text, timestamp: 100)
        #expect(a.h == b.h && ra.risk == rb.risk)
        #expect(a.h != c.h, "a gap inside the range must still matter")
    }

    /// Conversation cues: second person, questions, insults and hedges are read whatever the tokenisation.
    @Test func conversationCuesReadTheMarkers() {
        let idx = { (name: String) in ConversationCues.names.firstIndex(of: name)! }
        let hostile = ConversationCues.values("you are an IDIOT , you don ' t get it ?")
        let polite = ConversationCues.values("Thanks, I think that might be fair.")
        #expect(hostile.count == ConversationCues.count && polite.count == ConversationCues.count)
        #expect(hostile[idx("second_person")] > 0.9 && hostile[idx("opens_with_you")] == 1 && polite[idx("second_person")] == 0)
        #expect(hostile[idx("insults")] > 0 && hostile[idx("shouting")] > 0 && hostile[idx("questions")] > 0 && hostile[idx("negation")] > 0)
        #expect(polite[idx("gratitude")] > 0 && polite[idx("hedges")] > 0 && polite[idx("insults")] == 0)
        #expect(ConversationCues.values("").allSatisfy { $0 == 0 })
        #expect((hostile + polite).allSatisfy { (0...1).contains($0) })
    }

    /// Derailment data is labelled by its outcome, the comment after the last one shown, at the last one.
    @Test func derailmentConversationsAreLabelledByTheirOutcome() {
        let p = EscalationDialogue.oracle(.anger, sarcasm: false)   // the turns' emotions must not matter
        let turns = (0..<4).map { CorpusTurn(dialogueID: "x", turnID: $0 + 1, speaker: "u\($0 % 2)", text: "t", timestamp: Double($0) * 60, derails: true) }
            + [CorpusTurn(dialogueID: "y", turnID: 1, speaker: "u0", text: "t", timestamp: 0, derails: false)]
        let d = EscalationDialogue.distilled(turns, predictions: [EmotionPrediction](repeating: p, count: turns.count))
        #expect(d.count == 2 && d[0].outcome?.escalates == true && d[0].outcome?.afterSeconds == 60)
        #expect((0..<4).map { d[0].label(at: $0) } == [nil, nil, nil, true])   // judged at the last comment only
        #expect(d[0].firstEscalation == 4 && d[0].horizonLabel(at: 3, seconds: 30) == false && d[0].horizonLabel(at: 3, seconds: 120) == true)
        #expect(d[0].horizonLabel(at: 0, seconds: 1_000) == nil)
        #expect(d[1].label(at: 0) == false && d[1].firstEscalation == nil)
    }

    /// Alerts judged per dialogue, counted by hand.
    @Test func alertReportCountsCatchesFalseAlertsAndLead() throws {
        let d = try Self.dialogues()   // A escalates first at turn 2 (anger); B and C are calm
        let alarm = EscalationAlarm(upper: 0.6, lower: 0.4)
        // A: alert at turn 0 (lead 2 turns), re-armed at 1, again at 3 (after the escalation: not counted).
        // B: one false alert at turn 1. C, a lone utterance, is not judged.
        let r = EscalationAlertReport(risks: [[0.7, 0.3, 0.2, 0.9, 0.1], [0.1, 0.65], [0.59]], dialogues: d, alarm: alarm)
        #expect(r.dialogues == 2 && r.loneTurns == 1 && r.escalatingDialogues == 1 && r.caught == 1)
        #expect(r.falseAlerts == 1 && r.falselyAlertedDialogues == 1 && r.falseAlertsPer100Calm == 100)
        let lone = EscalationAlertReport(risks: [[0.1, 0.1, 0.1, 0.1, 0.1], [0.1, 0.1], [0.9]], dialogues: d, alarm: alarm)
        #expect(lone.falseAlerts == 0 && lone.falseAlertsPer100Calm == 0)
        #expect(r.precision == 0.5 && r.recall == 1 && r.medianLeadTurns == 2)
        #expect(r.medianLeadSeconds == d[0].turns[2].timestamp - d[0].turns[0].timestamp)
        // An alert at or after the first escalation does not catch it.
        let late = EscalationAlertReport(risks: [[0.1, 0.1, 0.9, 0.1, 0.1], [0.1, 0.1], [0.1]], dialogues: d, alarm: alarm)
        #expect(late.caught == 0 && late.recall == 0 && late.precision == nil)
        // The chosen alarm catches A within a budget of 0 false alerts: the upper threshold sits above B's 0.65.
        let chosen = EscalationAlertReport.choose(risks: [[0.7, 0.3, 0.2, 0.9, 0.1], [0.1, 0.65], [0.59]], dialogues: d, maxFalseAlertsPer100Calm: 0)
        #expect(chosen.upper > 0.65 && chosen.upper <= 0.7)
    }

    @Test func metricsOnKnownExamples() {
        #expect(EscalationMetrics.auroc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]) == 0.75)
        #expect(abs(EscalationMetrics.averagePrecision([0.1, 0.4, 0.35, 0.8], [false, false, true, true])! - 5.0 / 6) < 1e-12)
        #expect(EscalationMetrics.auroc([0.5, 0.5, 0.5], [true, false, true]) == 0.5)
        #expect(EscalationMetrics.auroc([0.5], [true]) == nil)
    }

    @Test func reportScoresEveryTurnWithANextTurn() throws {
        let d = try Self.dialogues()
        let f = EscalationForecaster(weights: Self.randomWeights(ode: true))
        let g = EscalationForecaster(weights: Self.randomWeights(ode: false))
        let r = try EscalationReport.evaluate(d, forecaster: f, gru: g)
        #expect(r.dialogues == 3 && r.turns == 5 && r.positives == 3 && r.escalatingDialogues == 1)
        #expect(r.auroc != nil && r.aurocGRU != nil && r.aurocPersistence != nil)
        #expect(r.horizonReliability!.reduce(0) { $0 + $1.count } == r.turns && r.aurocByGap != nil)
        let keys = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as! [String: Any]
        for k in ["escalation_auroc", "escalation_pr_auc", "escalation_auroc_persistence", "escalation_auroc_gru"] { #expect(keys[k] != nil) }
    }
}
