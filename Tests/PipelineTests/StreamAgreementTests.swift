import Contracts
import Foundation
import Kafka
import Testing
@testable import Pipeline

/// The stream's analysis of a turn is the model's on the turn's whole dialogue, wherever the
/// batches fall: dialogues not in time order, small batches, states evicted and reloaded, and an
/// idle gap inside a dialogue.
@Suite("Stream and model agree", .timeLimit(.minutes(2)))
struct StreamAgreementTests {
    @Test("every event's emotion and risk equal the model's on the dialogues analysed whole", arguments: [Int64(0), 1_000])
    func streamEqualsTheModel(recentRecords: Int64) async throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        func analyzer() throws -> ModelAnalyzer {
            try ModelAnalyzer(modelDirectory: try requireModelFiles(), headsDirectory: repo.appendingPathComponent("Models/heads"),
                              escalationDirectory: repo.appendingPathComponent("Models/escalation"))
        }
        let texts = ["Hi, my parcel never arrived.", "Sorry to hear that, let me check.", "This is the third time this month!",
                     "I understand, I will escalate it.", "Honestly I am furious, nobody ever calls back.", "Thanks, that helps."]
        // Four dialogues a day apart, the newest first, interleaved turn by turn; d1 pauses 40
        // minutes before its fourth turn (a fresh window).
        let base = Date(timeIntervalSince1970: 1_764_000_000)
        var turns: [TimedTurn] = []
        for t in 0..<6 {
            for d in 0..<4 {
                let at = base.addingTimeInterval(Double((3 - d) * 86_400 + t * 15 + (d == 1 && t >= 3 ? 2_400 : 0)))
                turns.append(TimedTurn(turn: Turn(dialogueID: "d\(d)", turnID: t, speaker: t % 2 == 0 ? "customer" : "agent",
                                                  text: texts[(t + d) % texts.count]), timestamp: at))
            }
        }
        var states: [String: ModelAnalyzer.State] = [:]
        let expected = try analyzer().analyze(turns, states: &states)

        let pipeline = try await InProcessPipeline<ModelAnalyzer>(partitions: 2) { $0.maxBatchSize = 3; $0.recentRecords = recentRecords }
        _ = try await pipeline.producer.sendAll(turns.map { t in
            KafkaProducerMessage(topic: pipeline.config.inputTopic, key: t.turn.dialogueID, value: String(decoding: try! JSONSerialization.data(withJSONObject: [
                "dialogue_id": t.turn.dialogueID, "turn_id": t.turn.turnID, "speaker": t.turn.speaker, "text": t.turn.text,
                "ts": EmotionEvent.timestamp(t.timestamp)]), as: UTF8.self))
        })
        try pipeline.start(try analyzer())
        try await pipeline.waitForTurns(turns.count, timeout: .seconds(60))
        try await pipeline.stop()
        let rows = try await pipeline.writer.query("SELECT dialogue_id, turn_id, event::text FROM emotion_audit")
        #expect(rows.count == turns.count)
        var events: [String: [String: Any]] = [:]
        for r in rows { events["\(r[0]!)/\(r[1]!)"] = try JSONSerialization.jsonObject(with: Data(r[2]!.utf8)) as? [String: Any] }
        for (t, e) in zip(turns, expected) {
            let event = try #require(events["\(t.turn.dialogueID)/\(t.turn.turnID)"])
            let risk = (event["escalation"] as? [String: Any])?["risk"] as? Double, intensity = event["intensity"] as? Double
            #expect(abs((risk ?? -1) - Double(e.escalation?.risk ?? -2)) < 1e-5, "\(t.turn.dialogueID)/\(t.turn.turnID) risk")
            #expect(abs((intensity ?? -1) - Double(e.prediction.intensity)) < 1e-5, "\(t.turn.dialogueID)/\(t.turn.turnID) intensity")
        }
    }
}
