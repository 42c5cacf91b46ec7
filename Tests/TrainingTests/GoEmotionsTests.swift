import Foundation
import Testing
import Contracts
@testable import Emotion
@testable import Training

/// Real comments: parsing, the figures `plutchik eval --goemotions` reports, training beside the
/// turns, and the neutral gate's calibration.
@Suite struct GoEmotionsTests {
    static let fixture = """
        {"id": "a1", "text": "WHY is this so broken", "goemotions": ["anger"], "plutchik": "anger", "sector": "anger", "neutral": false}
        {"id": "a2", "text": "What time is it there?", "goemotions": ["neutral"], "plutchik": null, "sector": null, "neutral": true}
        {"id": "a3", "text": "Haha that's great", "goemotions": ["amusement"], "plutchik": null, "sector": "joy", "neutral": false}
        {"id": "a4", "text": "I love this", "goemotions": ["love"], "plutchik": "love", "sector": null, "neutral": false}

        """

    @Test func loadsClassSectorAndNeutral() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("goemotions-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(Self.fixture.utf8).write(to: url)
        let rows = try GoEmotionsComment.load(url)
        #expect(rows.map(\.id) == ["a1", "a2", "a3", "a4"])
        #expect(rows.map(\.emotion) == [.anger, nil, nil, .love])
        #expect(rows.map(\.sector) == [.anger, nil, .joy, nil])
        #expect(rows.map(\.neutral) == [false, true, false, false])
        #expect(rows[2].labels == ["amusement"])
    }

    /// The mapping lives in code: every GoEmotions label has a row, and a data row whose Plutchik
    /// fields disagree with it is refused, naming the labels.
    @Test func rowsAreCheckedAgainstTheMappingTable() throws {
        #expect(Set(GoEmotionsComment.mapping.keys) == Set(GoEmotionsComment.rawLabels))
        #expect(GoEmotionsComment.mapped(["admiration", "approval"]) == (nil, .trust, false))
        #expect(GoEmotionsComment.mapped(["disapproval", "disappointment"]) == (.disapproval, nil, false))
        #expect(GoEmotionsComment.mapped(["neutral", "anger"]) == (nil, nil, false))
        let wrong = #"{"id": "w", "text": "t", "goemotions": ["curiosity"], "plutchik": "joy", "sector": "joy", "neutral": false}"#
        #expect { try JSONDecoder().decode(GoEmotionsComment.self, from: Data(wrong.utf8)) } throws: {
            "\($0)".contains("labels [\"curiosity\"] map to plutchik interest, sector anticipation")
        }
    }

    @Test func aBadLineIsNamedWithItsNumber() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("goemotions-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data((Self.fixture + #"{"id": "b", "text": "x", "sector": "purple"}"#).utf8).write(to: url)
        #expect { try GoEmotionsComment.load(url) } throws: { "\($0)".contains(":5:") && "\($0)".contains("purple") }
    }

    static func prediction(_ e: PlutchikEmotion, neutral: Float = 0.1) -> EmotionPrediction {
        EmotionPrediction(probabilities: (0..<32).map { $0 == e.index ? 0.69 : 0.01 }, sarcasm: 0, intensity: 0.5, neutral: neutral, isNeutral: neutral >= 0.5)
    }

    static func comment(_ e: PlutchikEmotion?, sector: PlutchikSector? = nil, neutral: Bool = false) -> GoEmotionsComment {
        let own = e.flatMap { $0.sectors.count == 1 ? $0.sector : nil }
        return GoEmotionsComment(id: UUID().uuidString, text: "", labels: [], emotion: e, sector: sector ?? own, neutral: neutral)
    }

    /// A prediction outside the 16 mapped classes (rage for anger) is wrong and enters no class's F1;
    /// the sector comes from the primaries, so rage still gets the anger sector right.
    @Test func classMacroF1CountsPredictionsOutsideTheMappedClassesAsWrong() {
        let comments = [Self.comment(.anger), Self.comment(.anger), Self.comment(.joy), Self.comment(nil, neutral: true)]
        let predictions = [Self.prediction(.anger), Self.prediction(.rage), Self.prediction(.joy), Self.prediction(.joy, neutral: 0.9)]
        let r = GoEmotionsReport(predictions: predictions, comments: comments, neutralThreshold: 0.5)
        // anger: tp 1, fn 1 → F1 2/3; joy: tp 1 → 1.
        #expect(abs(r.classMacroF1 - (2.0 / 3 + 1) / 2) < 1e-6)
        #expect(abs(r.classAccuracy - 2.0 / 3) < 1e-6)
        #expect(r.sectorRows == 3 && r.sectorAccuracy == 1)
        #expect(r.neutralAUROC == 1 && r.neutralPrecision == 1 && r.neutralRecall == 1)
    }

    /// The bootstrap intervals hold the point figures, repeat under a seed, collapse to a point when
    /// every prediction is right, and narrow as the sample grows.
    @Test(arguments: [200, 1_600])
    func bootstrapIntervalsHoldTheFiguresAndNarrowWithMoreComments(n: Int) throws {
        var rng = SeededGenerator(seed: 11)
        let classes: [PlutchikEmotion] = [.anger, .joy, .fear, .sadness]
        var comments: [GoEmotionsComment] = [], predictions: [EmotionPrediction] = []
        for i in 0..<n {
            let truth = classes[i % classes.count], neutral = i % 3 == 0
            let right = rng.nextUnit() < 0.7
            comments.append(Self.comment(truth, neutral: neutral))
            predictions.append(Self.prediction(right ? truth : classes[(i + 1) % classes.count],
                                               neutral: (neutral ? 0.6 : 0.4) + 0.5 * (rng.nextUnit() - 0.5)))
        }
        let r = GoEmotionsReport(predictions: predictions, comments: comments, neutralThreshold: 0.5)
        let i = GoEmotionsReport.Intervals(bootstrapping: predictions, comments: comments, resamples: 200)
        #expect(i.classMacroF1.contains(r.classMacroF1) && i.sectorAccuracy.contains(r.sectorAccuracy))
        let auc = try #require(i.neutralAUROC)
        #expect(auc.contains(r.neutralAUROC!))
        #expect(i == GoEmotionsReport.Intervals(bootstrapping: predictions, comments: comments, resamples: 200))
        // Standard errors shrink as 1/√n: 8× the comments, about a third of the width.
        let width = auc.upperBound - auc.lowerBound
        #expect(n == 200 ? width > 0.07 : width < 0.05, "neutral AUROC interval \(auc) for \(n) comments")

        let perfect = GoEmotionsReport.Intervals(bootstrapping: comments.map { Self.prediction($0.emotion!, neutral: $0.neutral ? 0.9 : 0.1) },
                                                 comments: comments, resamples: 50)
        #expect(perfect.classMacroF1 == 1...1 && perfect.sectorAccuracy == 1...1 && perfect.neutralAUROC == 1...1)
    }

    @Test func calibrationErrorIsZeroForCalibratedScoresAndLargeOtherwise() {
        let labels = (0..<100).map { $0 % 4 == 0 }
        #expect(calibrationError(scores: .init(repeating: 0.25, count: 100), labels: labels) < 1e-6)
        #expect(abs(calibrationError(scores: .init(repeating: 0.95, count: 100), labels: labels) - 0.7) < 1e-5)
    }

    /// Platt scaling recovers the (a, b) that generated labels from logits.
    @Test func plattScalingRecoversTheGeneratingParameters() {
        var rng = SeededGenerator(seed: 9)
        let logits = (0..<20_000).map { _ in Double(rng.nextGaussian()) * 3 }
        let labels = logits.map { Double(rng.nextUnit()) < 1 / (1 + exp(-(0.5 * $0 - 1))) ? 1.0 : 0.0 }
        let (a, b) = HeadsTrainer.plattScaling(logits: logits, labels: labels)
        #expect(abs(a - 0.5) < 0.05 && abs(b + 1) < 0.08)
    }

    /// Training beside comments: the comments whose embedding marks them neutral get a high neutral
    /// score, the calibrated gate keeps its AUROC and is better calibrated, and the report names the figures.
    @Test func trainingBesideCommentsLearnsTheNeutralGate() throws {
        var rng = SeededGenerator(seed: 4)
        let classes: [PlutchikEmotion] = [.anger, .joy, .admiration, .fear]
        func comments(_ n: Int) -> (rows: [GoEmotionsComment], embeddings: [[Float]]) {
            var rows: [GoEmotionsComment] = [], emb: [[Float]] = []
            for i in 0..<n {
                let neutral = i % 3 == 0, e = classes[i % 4]
                rows.append(GoEmotionsComment(id: "c\(i)", text: "comment \(i)", labels: [], emotion: neutral ? nil : (i % 5 == 0 ? nil : e),
                                              sector: neutral ? nil : e.sector, neutral: neutral))
                emb.append((0..<4).map { j in (neutral ? (j == 3 ? 1.5 : 0) : (j == i % 4 ? 1 : 0)) + 0.6 * (rng.nextUnit() - 0.5) })
            }
            return (rows, emb)
        }
        let tc = comments(300), vc = comments(120)
        let train = HeadsTrainerTests.data(96, seed: 1).adding(comments: tc.rows, embeddings: tc.embeddings)
        let val = HeadsTrainerTests.data(48, seed: 2).adding(comments: vc.rows, embeddings: vc.embeddings)
        var cf = HeadsTrainingConfiguration()
        cf.hidden = 16; cf.maxEpochs = 20; cf.patience = 20; cf.batchSize = 16; cf.commentsPerEpoch = 150; cf.learningRate = 1e-2
        var lines: [String] = []
        let heads = HeadsTrainer.train(train: train, val: val, provenance: HeadsProvenance(version: "t", trainingDataSHA256: "", validationDataSHA256: "",
                                                                                          encoderSHA256: ""),
                                       configuration: cf) { lines.append($0) }
        #expect(lines.allSatisfy { !$0.hasPrefix("epoch") || $0.contains("neutral AUROC") })
        let g = try #require(heads.manifest.validation.goEmotions)
        #expect(g.n == 120 && (g.neutralAUROC ?? 0) > 0.9)
        let calibrated = HeadsTrainer.calibratingNeutral(heads, val: val, threshold: 0.5)
        let c = try #require(calibrated.manifest.validation.goEmotions)
        #expect(abs((c.neutralAUROC ?? 0) - (g.neutralAUROC ?? 0)) < 1e-6)   // a monotone map keeps the ranking
        #expect(c.neutralCalibrationError <= g.neutralCalibrationError + 1e-6)
        #expect(calibrated.manifest.neutralThreshold == 0.5 && calibrated.manifest.training["neutral_calibration"] != nil)
        // The seed turns still train: their figures are there too.
        #expect((heads.manifest.validation.emotionMacroF1 ?? 0) > 0.3)
    }
}
