import Escalation

/// Ranking and calibration metrics for a binary forecast.
public enum EscalationMetrics {
    /// Ten equal-width bins of the predicted probability, each with its mean prediction, the
    /// observed rate and its count (empty bins left out).
    public static func reliability(_ scores: [Float], _ labels: [Bool]) -> [EscalationReport.ReliabilityBin] {
        var sum = [Double](repeating: 0, count: 10), pos = sum, n = [Int](repeating: 0, count: 10)
        for (s, y) in zip(scores, labels) {
            let b = min(max(Int(s * 10), 0), 9)
            sum[b] += Double(s); n[b] += 1
            if y { pos[b] += 1 }
        }
        return (0..<10).filter { n[$0] > 0 }.map {
            EscalationReport.ReliabilityBin(predicted: sum[$0] / Double(n[$0]), observed: pos[$0] / Double(n[$0]), count: n[$0])
        }
    }

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
