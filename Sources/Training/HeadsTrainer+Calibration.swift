import Foundation
import Contracts
import Emotion
import Escalation

extension HeadsTrainer {
    /// `refit` (the members of `selected` trained again on train + val, `turns` turns, for
    /// `memberEpochs` epochs each) with `selected`'s val figures and training notes in its manifest:
    /// those are honest, while the refit's own figures are on turns it has seen. The refit's
    /// cross-validated val figures (`crossValidatedRefit`), if any, are noted too.
    public static func refitted(_ refit: EmotionHeads, selected: EmotionHeads, memberEpochs: [Int], turns: Int,
                                crossValidation: (report: EvaluationReport, folds: Int)? = nil) -> EmotionHeads {
        var manifest = refit.manifest
        manifest.validation = selected.manifest.validation
        manifest.training = selected.manifest.training
        manifest.training["refit"] = "weights refit on train + val (\(turns) turns) for each member's selected epoch count "
            + "(\(memberEpochs.map(String.init).joined(separator: ","))), word channel \(refit.manifest.lexicalHead?.vocabulary.count ?? 0) words; "
            + "val_metrics and these notes are the train-only fit's, which chose the recipe and the epochs (the refit has seen val)"
        if let (r, folds) = crossValidation {
            manifest.training["refit_cross_validation"] = String(
                format: "%d folds of val dialogues, each scored by the recipe refit on train + the other folds: macro-F1 %.4f (accuracy %.4f), text-only %.4f (%.4f), sarcasm F1 %.4f, wheel error %.4f, intensity MAE %.4f",
                folds, r.emotionMacroF1 ?? 0, r.emotionAccuracy ?? 0, r.emotionMacroF1TextOnly ?? 0, r.emotionAccuracyTextOnly ?? 0,
                r.sarcasmF1 ?? 0, r.emotionWheelError ?? 0, r.intensityMAE ?? 0)
        }
        return EmotionHeads(manifest: manifest, network: refit.network, builder: refit.builder, lexicalHead: refit.lexicalHead)
    }

    /// `heads` with the neutral gate calibrated on `val`'s comments: Platt scaling σ(a·z + b) of the
    /// neutral logit, fitted by Newton's method on the comments' "only label is neutral" and folded
    /// into the output layer; the threshold is then `threshold` on a calibrated probability. The
    /// calibration error before and after goes into the manifest.
    public static func calibratingNeutral(_ heads: EmotionHeads, val: HeadsTrainingData, threshold: Float = 0.5) -> EmotionHeads {
        precondition(!val.comments.isEmpty, "calibrating the neutral gate needs val comments")
        let net = heads.network, o = HeadsNetwork.outputs, k = HeadsNetwork.neutralOutput
        let z = net.forward(commentFeatures(val, builder: heads.builder), batch: val.comments.count).z
        let logits = (0..<val.comments.count).map { Double(z[$0 * o + k]) }, y = val.comments.map { $0.neutral ? 1.0 : 0.0 }
        let (a, b) = plattScaling(logits: logits, labels: y)
        var w2 = net.w2, b2 = net.b2
        for j in 0..<net.hidden { w2[k * net.hidden + j] *= Float(a) }
        b2[k] = Float(a) * b2[k] + Float(b)
        let calibrated = HeadsNetwork(inputs: net.inputs, hidden: net.hidden, w1: net.w1, b1: net.b1, w2: w2, b2: b2)
        var manifest = heads.manifest
        let before = manifest.validation.goEmotions?.neutralCalibrationError
        manifest.validation = evaluate(calibrated, lexical: heads.lexicalHead, builder: heads.builder, val: val)
        manifest.neutralThreshold = threshold
        manifest.neutralBaseRate = Float(val.comments.count(where: \.neutral)) / Float(val.comments.count)
        manifest.weightsSHA256 = SHA256.hex(EmotionHeads.weightData(calibrated, precision: manifest.weightsPrecision))
        manifest.training["neutral_calibration"] = String(
            format: "Platt scaling on %d val comments: a %.4f, b %.4f; calibration error %.4f before, %.4f after; threshold %.2f",
            val.comments.count, a, b, before ?? .nan, manifest.validation.goEmotions?.neutralCalibrationError ?? .nan, threshold)
        return EmotionHeads(manifest: manifest, network: calibrated, builder: heads.builder, lexicalHead: heads.lexicalHead)
    }

    /// (a, b) minimising the cross-entropy of σ(a·logit + b) against `labels`: Newton's method,
    /// each step halved until the loss falls.
    static func plattScaling(logits: [Double], labels: [Double]) -> (a: Double, b: Double) {
        func loss(_ a: Double, _ b: Double) -> Double {
            zip(logits, labels).reduce(0) { acc, e in
                let s = a * e.0 + b
                return acc + max(s, 0) - s * e.1 + log1p(exp(-abs(s)))
            }
        }
        var a = 1.0, b = 0.0, current = loss(a, b)
        for _ in 0..<100 {
            var ga = 0.0, gb = 0.0, haa = 1e-9, hab = 0.0, hbb = 1e-9
            for (x, y) in zip(logits, labels) {
                let p = 1 / (1 + exp(-(a * x + b))), r = p - y, w = p * (1 - p)
                ga += r * x; gb += r; haa += w * x * x; hab += w * x; hbb += w
            }
            let det = haa * hbb - hab * hab
            guard det > 0 else { break }
            var da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det
            var next = loss(a - da, b - db)
            while next > current && abs(da) + abs(db) > 1e-12 { da /= 2; db /= 2; next = loss(a - da, b - db) }
            guard next <= current else { break }
            a -= da; b -= db
            let gain = current - next
            current = next
            if gain < 1e-10 * max(1, current) { break }
        }
        return (a, b)
    }

    /// `heads` with their network rounded to half floats and stored so ("heads.f16", half the
    /// size), re-evaluated on `val` with the rounded weights; the figures before rounding go into
    /// the manifest.
    public static func storedInHalfPrecision(_ heads: EmotionHeads, val: HeadsTrainingData) -> EmotionHeads {
        func half(_ v: [Float]) -> [Float] { v.map { Float(Float16($0)) } }
        let n = heads.network
        let net = HeadsNetwork(inputs: n.inputs, hidden: n.hidden, w1: half(n.w1), b1: half(n.b1), w2: half(n.w2), b2: half(n.b2))
        var manifest = heads.manifest
        let before = manifest.validation
        manifest.validation = evaluate(net, lexical: heads.lexicalHead, builder: heads.builder, val: val)
        manifest.weightsPrecision = .f16
        manifest.weightsFile = "heads.f16"
        manifest.weightsSHA256 = SHA256.hex(EmotionHeads.weightData(net, precision: .f16))
        manifest.training["weights_precision"] = String(format: "float16 for storage; val macro-F1 / text-only before rounding %.4f / %.4f",
                                                        before.emotionMacroF1 ?? 0, before.emotionMacroF1TextOnly ?? 0)
        return EmotionHeads(manifest: manifest, network: net, builder: heads.builder, lexicalHead: heads.lexicalHead)
    }
}
