import Foundation
import Testing
@testable import Contracts
@testable import Emotion
@testable import Training

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

    static func predicting(_ e: PlutchikEmotion) -> EmotionPrediction {
        EmotionPrediction(probabilities: (0..<32).map { $0 == e.index ? 0.69 : 0.01 }, sarcasm: 0.1, intensity: 0.5)
    }

    /// Per emotion: anger has 3 turns, 2 found and 1 taken for rage; rage 1 turn, found, plus that
    /// false positive; joy is predicted once wrongly. Their F1s average to the report's macro-F1.
    @Test func perClassFiguresAddUpToTheReport() throws {
        let labels: [PlutchikEmotion] = [.anger, .anger, .anger, .rage, .trust]
        let given = [PlutchikEmotion.anger, .anger, .rage, .rage, .joy].map(Self.predicting)
        let text = [PlutchikEmotion.anger, .joy, .joy, .joy, .joy].map(Self.predicting)
        let texts = ["so angry 😡", "angry", "ANGRY 🧨", "rage", "trust me 🤝"]
        var r = EvaluationReport.emotion(predictions: given, textOnly: text, labels: labels, sarcasm: [false, false, false, false, false])
        r.addBreakdown(predictions: given, textOnly: text, labels: labels, texts: texts)
        let classes = try #require(r.perClass)
        #expect(classes.count == 32 && classes.map(\.emotion) == PlutchikEmotion.allCases)
        let anger = classes[PlutchikEmotion.anger.index], rage = classes[PlutchikEmotion.rage.index]
        #expect(anger.support == 3 && anger.precision == 1 && abs(anger.recall - 2.0 / 3) < 1e-6 && abs(anger.f1 - 0.8) < 1e-6)
        #expect(abs(anger.f1TextOnly - 0.5) < 1e-6)
        #expect(rage.support == 1 && rage.precision == 0.5 && rage.recall == 1 && abs(rage.f1 - 2.0 / 3) < 1e-6)
        #expect(classes[PlutchikEmotion.joy.index].support == 0 && classes[PlutchikEmotion.trust.index].f1 == 0)
        let seen: [PlutchikEmotion] = [.anger, .rage, .joy, .trust]
        #expect(abs(seen.map { classes[$0.index].f1 }.reduce(0, +) / 4 - (r.emotionMacroF1 ?? -1)) < 1e-6)
        // With emoji: turns 0, 2, 4 (1 right of 3); without: turns 1, 3 (both right).
        #expect(abs((r.emotionAccuracyWithEmoji ?? -1) - 1.0 / 3) < 1e-6 && r.emotionAccuracyWithoutEmoji == 1)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as! [String: Any]
        let rows = try #require(object["per_class"] as? [[String: Any]])
        #expect(rows[PlutchikEmotion.anger.index]["emotion"] as? String == "anger" && rows[0]["f1_text_only"] != nil)
        #expect(object["emotion_accuracy_with_emoji"] != nil && object["emotion_accuracy_without_emoji"] != nil)
    }
}
