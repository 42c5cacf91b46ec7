import Contracts

/// Per class: true positives, false positives, false negatives, and whether the class occurs.
func classCounts(predicted: [Int], actual: [Int], classes: Int) -> (tp: [Int], fp: [Int], fn: [Int], seen: [Bool]) {
    precondition(predicted.count == actual.count)
    var tp = [Int](repeating: 0, count: classes), fp = tp, fn = tp, seen = [Bool](repeating: false, count: classes)
    for (p, a) in zip(predicted, actual) {
        seen[p] = true; seen[a] = true
        if p == a { tp[p] += 1 } else { fp[p] += 1; fn[a] += 1 }
    }
    return (tp, fp, fn, seen)
}

/// F1 from counts (0 when the class is neither predicted nor present).
func f1Score(tp: Int, fp: Int, fn: Int) -> Float {
    let d = 2 * tp + fp + fn
    return d == 0 ? 0 : Float(2 * tp) / Float(d)
}

/// Macro-averaged F1 over the classes that occur in `actual` or `predicted` (as scikit-learn does).
func macroF1(predicted: [Int], actual: [Int], classes: Int) -> Float {
    let c = classCounts(predicted: predicted, actual: actual, classes: classes)
    let scores = (0..<classes).filter { c.seen[$0] }.map { f1Score(tp: c.tp[$0], fp: c.fp[$0], fn: c.fn[$0]) }
    return scores.isEmpty ? 0 : scores.reduce(0, +) / Float(scores.count)
}

/// The fraction of exact matches.
func accuracy(predicted: [Int], actual: [Int]) -> Float {
    precondition(predicted.count == actual.count)
    guard !actual.isEmpty else { return 0 }
    return Float(zip(predicted, actual).filter { $0 == $1 }.count) / Float(actual.count)
}

/// F1 of the positive class.
func binaryF1(predicted: [Bool], actual: [Bool]) -> Float {
    var tp = 0, fp = 0, fn = 0
    for (p, a) in zip(predicted, actual) {
        if p && a { tp += 1 } else if p { fp += 1 } else if a { fn += 1 }
    }
    return f1Score(tp: tp, fp: fp, fn: fn)
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting half (Mann–Whitney with average ranks). NaN without both classes.
func auroc(scores: [Float], labels: [Bool]) -> Float {
    precondition(scores.count == labels.count)
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    var ranks = [Double](repeating: 0, count: scores.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
        let avg = Double(i + j) / 2 + 1
        for k in i...j { ranks[order[k]] = avg }
        i = j + 1
    }
    let pos = labels.filter { $0 }.count, neg = labels.count - pos
    guard pos > 0, neg > 0 else { return .nan }
    let rankSum = zip(ranks, labels).filter { $0.1 }.reduce(0) { $0 + $1.0 }
    return Float((rankSum - Double(pos * (pos + 1)) / 2) / Double(pos * neg))
}

/// Average precision (area under the precision–recall curve, step-wise). NaN without positives.
func averagePrecision(scores: [Float], labels: [Bool]) -> Float {
    let pos = labels.filter { $0 }.count
    guard pos > 0 else { return .nan }
    let order = scores.indices.sorted { scores[$0] > scores[$1] }
    var tp = 0, seen = 0, sum: Double = 0, i = 0
    while i < order.count {
        // Treat tied scores as one threshold.
        var j = i, tpHere = 0
        while j < order.count && scores[order[j]] == scores[order[i]] { if labels[order[j]] { tpHere += 1 }; j += 1 }
        tp += tpHere; seen = j
        sum += Double(tpHere) / Double(pos) * Double(tp) / Double(seen)
        i = j
    }
    return Float(sum)
}

/// Mean absolute error.
func meanAbsoluteError(_ predicted: [Float], _ actual: [Float]) -> Float {
    precondition(predicted.count == actual.count)
    guard !actual.isEmpty else { return 0 }
    return zip(predicted, actual).reduce(0) { $0 + abs($1.0 - $1.1) } / Float(actual.count)
}

/// Mean Plutchik wheel distance between predicted and true emotions.
func meanWheelError(predicted: [PlutchikEmotion], actual: [PlutchikEmotion]) -> Float {
    precondition(predicted.count == actual.count)
    guard !actual.isEmpty else { return 0 }
    return zip(predicted, actual).reduce(0) { $0 + $1.0.wheelDistance(to: $1.1) } / Float(actual.count)
}
