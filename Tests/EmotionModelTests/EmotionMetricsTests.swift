import Foundation
import Testing
@testable import EmotionModel

@Suite struct EmotionMetricsTests {
    @Test func macroF1AveragesClassesSeenInEitherList() {
        // class 0: tp 1, fn 1 → 2/3; class 1: tp 1, fp 1 → 2/3; class 2: unseen, skipped.
        #expect(abs(macroF1(predicted: [0, 1, 1], actual: [0, 0, 1], classes: 3) - 2.0 / 3) < 1e-6)
        #expect(macroF1(predicted: [1], actual: [0], classes: 3) == 0)
        #expect(accuracy(predicted: [0, 1, 2, 2], actual: [0, 1, 1, 2]) == 0.75)
    }

    @Test func binaryF1AndAUROC() {
        #expect(abs(binaryF1(predicted: [true, true, false, false], actual: [true, false, true, false]) - 0.5) < 1e-6)
        #expect(auroc(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]) == 0.75)
        #expect(auroc(scores: [0.5, 0.5], labels: [true, false]) == 0.5)
        #expect(auroc(scores: [0.5], labels: [true]).isNaN)
        // Ranked: + (0.9), - (0.8), + (0.7): AP = (1/2)(1) + (1/2)(2/3).
        #expect(abs(averagePrecision(scores: [0.9, 0.8, 0.7], labels: [true, false, true]) - (0.5 + 1.0 / 3)) < 1e-6)
    }

    @Test func maeAndWheelError() {
        #expect(meanAbsoluteError([0.5, 1], [0.25, 1]) == 0.125)
        #expect(meanWheelError(predicted: [.joy, .joy], actual: [.joy, .sadness]) == 0.85 / 2)
    }

    @Test func reportKeysMatchTheEvalContract() throws {
        let p = EmotionPrediction(probabilities: (0..<32).map { $0 == 6 ? 0.69 : 0.01 }, sarcasm: 0.9, intensity: 0.5)
        var r = EvaluationReport.emotion(predictions: [p, p], textOnly: [p, p], labels: [.anger, .rage], sarcasm: [true, false])
        r.escalationAUROC = 0.5
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as! [String: Any]
        let expected: Set = ["n", "emotion_macro_f1", "emotion_accuracy", "emotion_macro_f1_text_only", "emotion_accuracy_text_only",
                             "emotion_wheel_error", "sarcasm_f1", "sarcasm_auroc", "intensity_mae", "escalation_auroc"]
        #expect(Set(object.keys) == expected)
        #expect(r.emotionAccuracy == 0.5 && r.intensityMAE == 0.25)
    }
}
