import Foundation
import Testing

/// `plutchik score` redacts each turn by its tenant's policy from the config file, as `run` does
/// (it used to apply the default policy to every turn, and to leave the attributes as they came).
@Suite("plutchik score redacts by the turn's tenant's policy")
struct ScoreRedactionTests {
    @Test(.timeLimit(.minutes(3)), arguments: ["csv", "jsonl"])
    func tenantPolicy(format: String) throws {
        let dir = try makeScratchDirectory("plutchik-score")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("plutchik.conf"), input = dir.appendingPathComponent("turns.jsonl")
        let output = dir.appendingPathComponent("scored.\(format)")
        // acme: cards only, as PCI's last four; globex: the default, every entity as a tag.
        try "tenant.acme.redact=card\ntenant.acme.redact_mode.card=partial\n".write(to: config, atomically: true, encoding: .utf8)
        try ["acme", "globex"].enumerated().map { i, tenant in
            #"{"dialogue_id":"d\#(i)","turn_id":1,"speaker":"c","tenant":"\#(tenant)","text":"my card is 4111 1111 1111 1111, mail john@example.com","crm":{"notes":["paid with 4111-1111-1111-1111"]}}"#
        }.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let (status, stderr) = try runPlutchik(["score", "--config", config.path, "--input", input.path, "--output", output.path],
                                               environment: ["PLUTCHIK_MODEL_DIR": try requireModelFiles().path])
        try #require(status == 0, "\(stderr)")
        let out = try String(contentsOf: output, encoding: .utf8)
        #expect(!out.contains("4111 1111") && !out.contains("4111-1111"), "\(out)")
        if format == "csv" {
            #expect(out.contains(#"d0,1,c,"my card is **** **** **** 1111, mail john@example.com","#), "\(out)")
            #expect(out.contains(#"d1,1,c,"my card is [CARD], mail [EMAIL]","#), "\(out)")
        } else {
            let events = try out.split(separator: "\n").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            let byTenant = Dictionary(uniqueKeysWithValues: events.map { ($0["tenant"] as? String ?? "", $0) })
            func notes(_ tenant: String) -> [String]? {
                ((byTenant[tenant]?["attributes"] as? [String: Any])?["crm"] as? [String: Any])?["notes"] as? [String]
            }
            #expect(notes("acme") == ["paid with ****-****-****-1111"])
            #expect(notes("globex") == ["paid with [CARD]"])
            #expect(byTenant["acme"]?["redactions"] as? [String: Int] == ["card": 2])
            #expect(byTenant["globex"]?["redactions"] as? [String: Int] == ["card": 2, "email": 1])
        }
    }

    /// `score` runs the stream's analyzer: a tenant's alarm applies, an alert carries the stream's
    /// explanation (no words for a tenant whose texts are hashed), and the model version names the
    /// forecaster too. It used to score every tenant with the model's own alarm and no explanation.
    @Test(.timeLimit(.minutes(3)))
    func tenantAlarmAndExplanations() throws {
        let dir = try makeScratchDirectory("plutchik-score")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("plutchik.conf"), input = dir.appendingPathComponent("turns.jsonl")
        let output = dir.appendingPathComponent("scored.jsonl")
        try """
            tenant.acme.alert_upper=0.0001
            tenant.acme.alert_lower=0
            tenant.hashed.alert_upper=0.0001
            tenant.hashed.alert_lower=0
            tenant.hashed.hash_texts=true
            tenant.calm.alert_upper=0.9999
            """.write(to: config, atomically: true, encoding: .utf8)
        try ["acme", "hashed", "calm"].enumerated().flatMap { i, tenant in
            ["I have been waiting for three weeks and nobody answers", "This is absolutely outrageous, I am furious"].enumerated().map { t, text in
                #"{"dialogue_id":"d\#(i)","turn_id":\#(t + 1),"speaker":"customer","tenant":"\#(tenant)","ts":"2026-01-01T10:0\#(t):00Z","text":"\#(text)"}"#
            }
        }.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let (status, stderr) = try runPlutchik(["score", "--config", config.path, "--input", input.path, "--output", output.path],
                                               environment: ["PLUTCHIK_MODEL_DIR": try requireModelFiles().path])
        try #require(status == 0, "\(stderr)")
        let events = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        try #require(events.count == 6)
        func alerts(_ tenant: String) -> [[String: Any]] {
            events.filter { $0["tenant"] as? String == tenant && ($0["escalation"] as? [String: Any])?["alert"] as? Bool == true }
        }
        func words(_ event: [String: Any]) -> [[String: Any]]? { (event["explanation"] as? [String: Any])?["words"] as? [[String: Any]] }
        #expect(alerts("calm").isEmpty)
        let acme = try #require(alerts("acme").first, "the tenant's alarm at 0.0001 raises an alert")
        #expect(words(acme)?.isEmpty == false, "\(acme)")
        let hashed = try #require(alerts("hashed").first)
        #expect(hashed["explanation"] != nil && words(hashed)?.isEmpty != false, "\(hashed)")
        #expect(events.allSatisfy { (($0["model"] as? [String: Any])?["version"] as? String)?.contains("+escalation-") == true }, "\(events[0])")
    }
}
