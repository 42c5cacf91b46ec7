import Escalation

extension EscalationManifest {
    /// Quantiles p10, p25, p50, p75, p90, p99 of the inter-turn gaps of some dialogues.
    public static func gapQuantiles(_ dialogues: [EscalationDialogue]) -> [String: Double] {
        var g: [Double] = []
        for d in dialogues where d.turns.count > 1 {
            for i in 1..<d.turns.count { g.append(d.turns[i].timestamp - d.turns[i - 1].timestamp) }
        }
        guard !g.isEmpty else { return [:] }
        g.sort()
        var out: [String: Double] = [:]
        for q in [10, 25, 50, 75, 90, 99] { out["p\(q)"] = g[min(g.count - 1, g.count * q / 100)] }
        return out
    }
}
