import Foundation
import Testing
@testable import Contracts

@Suite struct TurnTests {
    func parse(_ s: String) throws(TurnValidationError) -> Turn { try Turn.parse(Array(s.utf8)) }

    func code(_ bytes: [UInt8]) -> TurnValidationError.Code? {
        do { _ = try Turn.parse(bytes); return nil } catch { return error.code }
    }

    @Test func parsesAFullTurn() throws {
        let t = try parse(#"{"dialogue_id":"d1","turn_id":3,"speaker":"Ann","role":"customer","text":"hi 😡","ts":"2026-11-25T10:00:00.123Z","tenant":"acme","channel":"chat"}"#)
        #expect(t.dialogueID == "d1" && t.turnID == 3 && t.role == .customer && t.text == "hi 😡")
        #expect(t.ts == .rfc3339("2026-11-25T10:00:00.123Z") && t.tenant == "acme" && t.channel == "chat")
        #expect(try parse(#"{"dialogue_id":"d","turn_id":0,"speaker":"s","text":"","ts":1764064800000}"#).ts == .epochMilliseconds(1_764_064_800_000))
    }

    @Test func rejectsBadRecordsWithCodes() {
        #expect(code(Array("{not json".utf8)) == .invalidJSON)
        #expect(code(Array("[1]".utf8)) == .notAnObject)
        #expect(code([0x7B, 0xFF, 0x7D]) == .invalidUTF8)
        #expect(code(Array(#"{"turn_id":1,"speaker":"s","text":"t"}"#.utf8)) == .missingField)
        #expect(code(Array(#"{"dialogue_id":"d","turn_id":"1","speaker":"s","text":"t"}"#.utf8)) == .invalidField)
        #expect(code(Array(#"{"dialogue_id":"d","turn_id":true,"speaker":"s","text":"t"}"#.utf8)) == .invalidField)
        #expect(code(Array(#"{"dialogue_id":"d","turn_id":1.5,"speaker":"s","text":"t"}"#.utf8)) == .invalidField)
        #expect(code(Array(#"{"dialogue_id":"d","turn_id":1,"speaker":"s","text":"t","role":"boss"}"#.utf8)) == .invalidField)
        #expect(code(Array(#"{"dialogue_id":"d","turn_id":1,"speaker":"s","text":"t","ts":"yesterday"}"#.utf8)) == .invalidField)
        let long = String(repeating: "a", count: Turn.maxTextLength + 1)
        #expect(code(Array(#"{"dialogue_id":"d","turn_id":1,"speaker":"s","text":"\#(long)"}"#.utf8)) == .textTooLong)
    }

    @Test func eventHasTheSchemaFields() throws {
        let turn = try parse(#"{"dialogue_id":"d1","turn_id":2,"speaker":"Bo","text":"fine."}"#)
        let p = EmotionPrediction(probabilities: (0..<32).map { $0 == 22 ? 0.69 : 0.01 }, sarcasm: 0.8, intensity: 0.3)
        let event = EmotionEvent(turn: turn, prediction: p, modelVersion: "v1", processedAt: Date(timeIntervalSince1970: 0))
        let o = try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as! [String: Any]
        for key in ["event_id", "dialogue_id", "turn_id", "speaker", "role", "emotion", "primaries", "sarcasm", "intensity", "model", "processed_at"] {
            #expect(o[key] != nil, "missing \(key)")
        }
        #expect(o["escalation"] == nil && o["source"] == nil)
        let emotion = o["emotion"] as! [String: Any]
        #expect(emotion["label"] as? String == "annoyance" && emotion["sector"] as? String == "anger" && emotion["ring"] as? String == "mild")
        #expect((emotion["probs"] as! [String: Any]).count == 32 && (o["primaries"] as! [String: Any]).count == 8)
        #expect(o["processed_at"] as? String == "1970-01-01T00:00:00.000Z")
        #expect(event.eventID == EmotionEvent.eventID(dialogueID: "d1", turnID: 2, modelVersion: "v1"))
        #expect(event.eventID.count == 36)
    }

    @Test func fieldsBeyondTheSchemaAreCarriedAsAttributes() throws {
        let turn = try parse(#"{"dialogue_id":"d1","turn_id":2,"speaker":"Bo","text":"ok","topic":"billing","queue":"vip","interaction_id":9007199254740993,"meta":{"lang":"en","tags":[1,2.5,null,true]}}"#)
        #expect(turn.topic == "billing")
        #expect(turn.attributes == ["queue": .string("vip"), "interaction_id": .integer(9_007_199_254_740_993),
                                    "meta": .object(["lang": .string("en"), "tags": .array([.integer(1), .number(2.5), .null, .bool(true)])])])
        // The turn encodes back as it came; the event and its alert carry topic and attributes.
        #expect(try Turn.parse(Array(JSONEncoder().encode(turn))) == turn)
        let p = EmotionPrediction(probabilities: (0..<32).map { $0 == 22 ? 0.69 : 0.01 }, sarcasm: 0.1, intensity: 0.3)
        let event = EmotionEvent(turn: turn, prediction: p, modelVersion: "v1")
        let o = try JSONSerialization.jsonObject(with: EmotionEvent.encoder().encode(event)) as! [String: Any]
        #expect(o["topic"] as? String == "billing")
        #expect(String(data: try JSONSerialization.data(withJSONObject: o["attributes"]!, options: .sortedKeys), encoding: .utf8)
                == #"{"interaction_id":9007199254740993,"meta":{"lang":"en","tags":[1,2.5,null,true]},"queue":"vip"}"#)
        let forecast = EscalationForecast(risk: 0.9, riskHorizon: 0.9, horizonSeconds: 60, trend: .rising, timeToEscalationSeconds: nil, alert: true)
        let alert = EscalationAlert(event: event, escalation: forecast, raisedAt: Date())
        #expect(alert.attributes == turn.attributes && alert.topic == "billing")
        // Without extra fields the event has no attributes key.
        let plain = EmotionEvent(turn: try parse(#"{"dialogue_id":"d","turn_id":1,"speaker":"s","text":"t"}"#), prediction: p, modelVersion: "v1")
        #expect((try JSONSerialization.jsonObject(with: EmotionEvent.encoder().encode(plain)) as! [String: Any])["attributes"] == nil)
    }
}
