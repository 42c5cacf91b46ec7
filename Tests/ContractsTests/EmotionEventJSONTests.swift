import Foundation
import Testing
@testable import Contracts

/// The hand-written event JSON is byte for byte what `EmotionEvent.encoder()` writes.
@Suite struct EmotionEventJSONTests {
    static func event(_ json: String, probabilities: [Float], full: Bool) throws -> EmotionEvent {
        let turn = try Turn.parse(Array(json.utf8))
        let p = EmotionPrediction(probabilities: probabilities, sarcasm: 0.123_456_78, intensity: 1, neutral: 2.5e-7, isNeutral: full)
        var event = EmotionEvent(turn: turn, prediction: p, modelVersion: "heads-8.1/ode-1", processedAt: Date(timeIntervalSince1970: 1_764_000_000.5))
        if full {
            event.ts = "2026-11-25T10:00:00.123Z"
            event.escalation = EscalationForecast(risk: 0.75, riskHorizon: 1e-5, horizonSeconds: 120, trend: .rising,
                                                  timeToEscalationSeconds: 33.25, alert: true)
            event.explanation = Explanation(words: [.init(word: "refund\"now", contribution: -0.5)],
                                            escalationTurns: [.init(turnID: 3, riskChange: 0.25)])
            event.source = .init(topic: "plutchik.turns", partition: 5, offset: 9_007_199_254_740_993, timestampMs: 1_764_000_000_123)
            event.redactions = ["phone": 2, "card": 1, "member_id": 12]
        } else {
            event.escalation = EscalationForecast(risk: 0, riskHorizon: 0.5, horizonSeconds: 60.5, trend: .steady,
                                                  timeToEscalationSeconds: nil, alert: false)
            event.source = .init(topic: "t", partition: 0, offset: 0, timestampMs: nil)
        }
        return event
    }

    static let turns = [
        #"{"dialogue_id":"d1","turn_id":2,"speaker":"Bo","text":"fine."}"#,
        #"{"dialogue_id":"d/\"2\"\\","turn_id":9007199254740993,"speaker":"Ann\n\t\u0001\u001f é 😀 \u2028","role":"agent","text":"x","tenant":"acme","scenario":"billing","topic":"refunds","channel":"chat"}"#,
        #"{"dialogue_id":"d3","turn_id":0,"speaker":"s","text":"x","queue":"vip","Zeta":1,"alpha":[1,2.5,null,true],"a10":{"B":"x","a":"y"},"a9":-0.0}"#,
    ]

    @Test(arguments: turns, [false, true])
    func sameBytesAsTheEncoder(turn: String, full: Bool) throws {
        var g = SystemRandomNumberGenerator()
        // Probabilities spanning many magnitudes, whole numbers and exponents among them.
        var probabilities: [Float] = [1, 0, 1e-38, 123_456_789]
        for i in 4..<32 {
            let scale = Float(pow(10.0, -Double(i % 9)))
            probabilities.append(Float.random(in: 0...1, using: &g) * scale)
        }
        let event = try Self.event(turn, probabilities: probabilities, full: full)
        let encoder = EmotionEvent.encoder()
        let expected = Array(try encoder.encode(event))
        let got = try event.jsonBytes(encoder: encoder)
        #expect(String(decoding: got, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func nonFiniteNumbersThrowLikeTheEncoder() throws {
        var event = try Self.event(Self.turns[0], probabilities: [Float](repeating: 1 / 32, count: 32), full: false)
        event.intensity = .nan
        #expect(throws: (any Error).self) { try EmotionEvent.encoder().encode(event) }
        #expect(throws: JSONWriter.InvalidNumber.self) { try event.jsonBytes(encoder: EmotionEvent.encoder()) }
    }
}
