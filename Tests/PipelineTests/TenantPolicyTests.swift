import Contracts
import Escalation
import Foundation
import Testing
@testable import Pipeline

@Suite("Per-tenant settings")
struct TenantPolicyTests {
    @Test("a tenant's own settings win over the defaults, which win over the model's")
    func resolution() throws {
        let policies = TenantPolicies(defaults: TenantPolicy(alertUpper: 0.7, hashTexts: true),
                                      tenants: ["acme": TenantPolicy(alertUpper: 0.9, neutralThreshold: 0.3)])
        #expect(policies.policy(for: "acme") == TenantPolicy(alertUpper: 0.9, neutralThreshold: 0.3, hashTexts: true))
        #expect(policies.policy(for: "other") == policies.defaults && policies.policy(for: nil) == policies.defaults)
        let model = EscalationAlarm(upper: 0.6, lower: 0.4)
        #expect(policies.policy(for: "acme").alarm(over: model) == EscalationAlarm(upper: 0.9, lower: 0.4))
        #expect(TenantPolicy().alarm(over: model) == nil)
        try policies.validate(modelAlarm: model)
    }

    @Test("invalid settings are refused naming the tenant and key", arguments: [
        (TenantPolicies(tenants: ["acme": TenantPolicy(alertUpper: 0.3)]), "tenant.acme: alert_lower 0.4 must be below alert_upper 0.3"),
        (TenantPolicies(defaults: TenantPolicy(neutralThreshold: 1.5)), "tenant.*.neutral_threshold"),
        (TenantPolicies(defaults: TenantPolicy(alertLower: 0.65), tenants: ["b": TenantPolicy(alertUpper: 0.9)]), "tenant.*: alert_lower 0.65"),
        (TenantPolicies(tenants: ["acme": TenantPolicy(neutralBaseRate: 1)]), "tenant.acme.neutral_base_rate is 1.0; it must lie strictly between 0 and 1"),
    ])
    func refused(policies: TenantPolicies, message: String) {
        #expect { try policies.validate(modelAlarm: EscalationAlarm(upper: 0.6, lower: 0.4), modelNeutralBaseRate: 0.33) } throws: { "\($0)".contains(message) }
    }

    @Test("a neutral base rate needs heads that record the rate they were calibrated at")
    func baseRateNeedsACalibratedRate() throws {
        let policies = TenantPolicies(tenants: ["acme": TenantPolicy(neutralBaseRate: 0.8)])
        try policies.validate(modelAlarm: EscalationAlarm(upper: 0.6, lower: 0.4), modelNeutralBaseRate: 0.33)
        #expect { try policies.validate(modelAlarm: EscalationAlarm(upper: 0.6, lower: 0.4)) } throws: {
            "\($0)".contains("tenant.acme.neutral_base_rate is set, but the heads record no calibrated base rate")
        }
    }

    @Test("a tenant's neutral base rate moves its gate, not its escalation risk")
    func baseRateMovesTheGateOnly() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let store = TenantPolicyStore(TenantPolicies(tenants: ["chatty": TenantPolicy(neutralBaseRate: 0.95), "terse": TenantPolicy(neutralBaseRate: 0.05)]))
        let analyzer = try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: repo.appendingPathComponent("Models/heads"),
                                         escalationDirectory: repo.appendingPathComponent("Models/escalation"), policies: store)
        try analyzer.validate(store.policies)
        let out = try ["chatty", "terse", "plain"].map { tenant in
            var states: [String: ModelAnalyzer.State] = [:]
            let turn = TimedTurn(turn: Turn(dialogueID: "d", turnID: 1, speaker: "c", text: "I have been waiting for an hour, this is not okay.", tenant: tenant),
                                 timestamp: Date(timeIntervalSince1970: 1_764_000_000))
            return try analyzer.analyze([turn], states: &states)[0]
        }
        #expect(out[0].prediction.neutral > out[2].prediction.neutral && out[1].prediction.neutral < out[2].prediction.neutral)
        #expect(out[0].prediction.label == out[2].prediction.label && out[0].prediction.probabilities == out[2].prediction.probabilities)
        #expect(out[0].escalation?.risk == out[2].escalation?.risk && out[1].escalation?.risk == out[2].escalation?.risk)
    }

    @Test("a turn more than the idle window after its dialogue's last starts a fresh window, however the batches fall")
    func idleGapStartsAFreshWindow() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let analyzer = try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: repo.appendingPathComponent("Models/heads"),
                                         escalationDirectory: repo.appendingPathComponent("Models/escalation"))
        let t0 = Date(timeIntervalSince1970: 1_764_000_000)
        func turn(_ id: Int, _ text: String, after seconds: Double, dialogue: String = "d") -> TimedTurn {
            TimedTurn(turn: Turn(dialogueID: dialogue, turnID: id, speaker: id % 2 == 0 ? "agent" : "customer", text: text), timestamp: t0.addingTimeInterval(seconds))
        }
        let turns = [turn(1, "This is the third time my order is late.", after: 0), turn(2, "I am sorry, let me check that for you.", after: 20),
                     turn(3, "Still nothing. I want a refund now!", after: 20 + analyzer.windowIdle + 1)]
        var oneBatch: [String: ModelAnalyzer.State] = [:], split: [String: ModelAnalyzer.State] = [:], alone: [String: ModelAnalyzer.State] = [:]
        let together = try analyzer.analyze(turns, states: &oneBatch)
        let apart = try analyzer.analyze(Array(turns[..<2]), states: &split) + analyzer.analyze([turns[2]], states: &split)
        #expect(together.map(\.escalation) == apart.map(\.escalation) && together.map(\.prediction) == apart.map(\.prediction))
        #expect(oneBatch == split)
        // The third turn reads as a dialogue's first.
        let first = try analyzer.analyze([turn(3, turns[2].turn.text, after: turns[2].timestamp.timeIntervalSince(t0), dialogue: "new")], states: &alone)[0]
        #expect(together[2].prediction == first.prediction && together[2].escalation == first.escalation)
        // Within the window the context carries: the same turn 10 s later reads differently.
        var near: [String: ModelAnalyzer.State] = [:]
        let carried = try analyzer.analyze(Array(turns[..<2]) + [turn(3, turns[2].turn.text, after: 30)], states: &near)[2]
        #expect(carried.prediction != first.prediction)
    }

    @Test("the model applies a tenant's alarm and neutral thresholds; other tenants keep the model's")
    func appliedByTheModel() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let store = TenantPolicyStore(TenantPolicies(tenants: ["touchy": TenantPolicy(alertUpper: 0.001, alertLower: 0, neutralThreshold: 0)]))
        let analyzer = try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: repo.appendingPathComponent("Models/heads"),
                                         escalationDirectory: repo.appendingPathComponent("Models/escalation"), policies: store)
        let turns = ["touchy", "calm"].map { tenant in
            TimedTurn(turn: Turn(dialogueID: tenant, turnID: 1, speaker: "c", role: .customer, text: "Hello, can you check my order?", tenant: tenant),
                      timestamp: Date(timeIntervalSince1970: 1_764_000_000))
        }
        var states: [String: ModelAnalyzer.State] = [:]
        let out = try analyzer.analyze(turns, states: &states)
        #expect(out[0].escalation?.alert == true && out[0].prediction.isNeutral)
        #expect(out[1].escalation?.alert == false && out[1].escalation!.risk < analyzer.modelAlarm.upper)
        // A swap takes effect on the next batch.
        store.policies = TenantPolicies()
        var fresh: [String: ModelAnalyzer.State] = [:]
        #expect(try analyzer.analyze([turns[0]], states: &fresh)[0].escalation?.alert == false)
    }

    @Test("a turn's role does not move its dialogue's escalation risk: no training data has roles")
    func roleIsNotAnInput() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let analyzer = try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: repo.appendingPathComponent("Models/heads"),
                                         escalationDirectory: repo.appendingPathComponent("Models/escalation"))
        let texts = ["My order never arrived.", "Sorry to hear that, let me check.", "This is the third time, you people are useless!"]
        var risks: [[Float]] = []
        for roles in [[Turn.Role.customer, .agent, .customer], [.agent, .customer, .agent], [nil, nil, nil]] {
            var states: [String: ModelAnalyzer.State] = [:]
            let turns = zip(texts, roles).enumerated().map { i, tr in
                TimedTurn(turn: Turn(dialogueID: "d", turnID: i + 1, speaker: "s\(i % 2)", role: tr.1, text: tr.0),
                          timestamp: Date(timeIntervalSince1970: 1_764_000_000 + Double(i) * 30))
            }
            risks.append(try turns.map { try analyzer.analyze([$0], states: &states)[0].escalation!.risk })
        }
        #expect(risks[0] == risks[1] && risks[1] == risks[2])
        #expect(Set(risks[0]).count == 3, "the risk must still move with what is said")
    }
}
