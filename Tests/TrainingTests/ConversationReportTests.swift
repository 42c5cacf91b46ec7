import Foundation
import Testing
import Contracts
@testable import Emotion
@testable import Training

/// `plutchik eval --conversations`: the seven-label reading of a prediction and the three figures,
/// on a fixture small enough to work out by hand.
@Suite struct ConversationReportTests {
    static func prediction(_ e: PlutchikEmotion, neutral: Float) -> EmotionPrediction {
        EmotionPrediction(probabilities: (0..<32).map { $0 == e.index ? 0.69 : 0.01 }, sarcasm: 0, intensity: 0.5, neutral: neutral, isNeutral: neutral >= 0.5)
    }

    @Test func aPredictionReadsAsNeutralOrItsEkmanSector() {
        #expect(EkmanLabel(Self.prediction(.rage, neutral: 0.2)) == .anger)
        #expect(EkmanLabel(Self.prediction(.rage, neutral: 0.7)) == .neutral)
        #expect(EkmanLabel(Self.prediction(.grief, neutral: 0.2)) == .sadness)
        #expect(EkmanLabel(Self.prediction(.amazement, neutral: 0.2)) == .surprise)
        #expect(EkmanLabel(Self.prediction(.loathing, neutral: 0.2)) == .disgust)
        #expect(EkmanLabel(Self.prediction(.apprehension, neutral: 0.2)) == .fear)
        #expect(EkmanLabel(Self.prediction(.love, neutral: 0.2)) == .joy)  // joy + trust: reported under joy
        for e in [PlutchikEmotion.trust, .admiration, .anticipation, .interest, .optimism] {
            #expect(EkmanLabel(Self.prediction(e, neutral: 0.2)) == .neutral, "\(e)")
        }
    }

    /// Two dialogues (gold → predicted, gate probability; `happiness` is DailyDialog's joy):
    ///   a: neutral → neutral (0.9), joy → joy (0.2), anger → neutral (0.6)
    ///   b: neutral → anger (0.3), sadness → sadness (0.1), neutral → trust, read as neutral (0.4)
    static let fixture = """
        {"dialogue_id": "a", "turn_id": 1, "speaker": "x", "text": "hi", "gold": "neutral"}
        {"dialogue_id": "b", "turn_id": 2, "speaker": "y", "text": "so sad", "gold": "sadness"}
        {"dialogue_id": "b", "turn_id": 1, "speaker": "x", "text": "ok", "gold": "neutral", "ts": "2024-01-01T00:00:10Z"}
        {"dialogue_id": "a", "turn_id": 2, "speaker": "y", "text": "great!", "gold": "happiness"}
        {"dialogue_id": "a", "turn_id": 3, "speaker": "x", "text": "how dare you", "gold": "anger"}
        {"dialogue_id": "b", "turn_id": 3, "speaker": "x", "text": "fine", "gold": "neutral"}

        """
    static let predictions = [prediction(.serenity, neutral: 0.9), prediction(.joy, neutral: 0.2), prediction(.anger, neutral: 0.6),
                              prediction(.rage, neutral: 0.3), prediction(.grief, neutral: 0.1), prediction(.trust, neutral: 0.4)]

    func turns() throws -> [ConversationTurn] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("conversations-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(Self.fixture.utf8).write(to: url)
        return try ConversationTurn.load(url)
    }

    @Test func loadsTurnsInDialogueOrder() throws {
        let t = try turns()
        #expect(t.map { "\($0.dialogueID)\($0.turnID)" } == ["a1", "a2", "a3", "b1", "b2", "b3"])
        #expect(t.map(\.gold) == [.neutral, .joy, .anger, .neutral, .sadness, .neutral])
    }

    @Test func aLabelOutsideTheSevenIsNamedWithItsLine() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("conversations-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data((Self.fixture + #"{"dialogue_id": "c", "turn_id": 1, "speaker": "x", "text": "x", "gold": "trust"}"#).utf8).write(to: url)
        #expect { try ConversationTurn.load(url) } throws: { "\($0)".contains(":7:") && "\($0)".contains("trust") }
    }

    /// By hand. Weighted-F1: neutral (support 3) tp 2 fp 1 fn 1 → 2/3; joy 1; anger (support 1,
    /// predicted once, wrongly) 0; sadness 1; (3 · 2/3 + 1 + 0 + 1) / 6 = 2/3. Micro-F1 without
    /// neutral: 3 turns predicted emotional, 3 gold emotional, 2 hits → 2/3. Neutral AUROC: gold
    /// neutral at 0.9, 0.3, 0.4 against 0.2, 0.6, 0.1: 7 of 9 pairs ordered → 7/9.
    @Test func figuresMatchTheHandComputation() throws {
        let t = try turns()
        let r = ConversationReport(file: "f.jsonl", turns: t, withContext: Self.predictions, turnAlone: Self.predictions.reversed(), resamples: 0)
        #expect(r.dialogues == 2 && r.turns == 6 && r.goldNeutralShare == 0.5)
        #expect(abs(r.withContext.weightedF1 - 2.0 / 3) < 1e-6)
        #expect(abs(r.withContext.microF1 - 2.0 / 3) < 1e-6)
        #expect(abs(r.withContext.neutralAUROC! - 7.0 / 9) < 1e-6)
        #expect(r.withContext.predictedNeutralShare == 0.5 && r.withContext.intervals == nil)
        // Reversed: neutral (trust), sadness, anger, neutral (gate 0.6), joy, neutral (gate 0.9)
        // against neutral, joy, anger, neutral, sadness, neutral. Neutral tp 3 → 1, joy 0, anger 1,
        // sadness 0: (3 + 1) / 6. Without neutral: 3 predicted, 3 gold, 1 hit → 1/3.
        #expect(abs(r.turnAlone.weightedF1 - 4.0 / 6) < 1e-6)
        #expect(abs(r.turnAlone.microF1 - 1.0 / 3) < 1e-6)
    }

    /// Dialogues are resampled whole: with two, a draw is a+a, b+b or a+b, whose weighted-F1s are
    /// 5/9, 7/9 and 2/3 (a+a: neutral 2/3 on support 2, joy 1 on 2, anger 0 on 2; b+b: neutral 2/3 on
    /// 4, sadness 1 on 2); each pure draw has probability 1/4, so the interval runs from one to the other.
    @Test func bootstrapResamplesWholeDialogues() throws {
        let t = try turns()
        let r = ConversationReport(file: "f.jsonl", turns: t, withContext: Self.predictions, turnAlone: Self.predictions, resamples: 400)
        let i = try #require(r.withContext.intervals)
        #expect(abs(i.weightedF1.lowerBound - 5.0 / 9) < 1e-6 && abs(i.weightedF1.upperBound - 7.0 / 9) < 1e-6)
        #expect(i.neutralAUROC!.contains(7.0 / 9) && i.neutralAUROC!.upperBound == 1)
        #expect(r == ConversationReport(file: "f.jsonl", turns: t, withContext: Self.predictions, turnAlone: Self.predictions, resamples: 400))
    }
}
