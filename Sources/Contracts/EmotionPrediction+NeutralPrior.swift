import Foundation

extension EmotionPrediction {
    /// The prediction with its neutral probability moved from the base rate the gate was calibrated
    /// at (`calibratedRate`) to `rate`, the share of neutral turns an operator expects: the odds are
    /// multiplied by the ratio of the two prior odds (a prior shift, not a re-fit), so the ranking of
    /// turns is unchanged. `isNeutral` is then `neutral >= threshold`; the emotion is untouched.
    public func shiftingNeutralPrior(from calibratedRate: Float, to rate: Float, threshold: Float) -> EmotionPrediction {
        precondition(calibratedRate > 0 && calibratedRate < 1 && rate > 0 && rate < 1, "base rates must lie strictly between 0 and 1")
        func logit(_ p: Float) -> Float { log(p / (1 - p)) }
        let p = min(max(neutral, 1e-7), 1 - 1e-7)
        var out = self
        out.neutral = 1 / (1 + exp(-(logit(p) + logit(rate) - logit(calibratedRate))))
        out.isNeutral = out.neutral >= threshold
        return out
    }
}
