import Foundation
import Gateway
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("POST /v1/analyze")
struct AnalyzeAPITests {
    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }

    static func errorField(_ buffer: ByteBuffer) throws -> (code: String?, field: String?) {
        let error = try json(buffer)["error"] as? [String: Any]
        return (error?["code"] as? String, error?["field"] as? String)
    }

    @Test("one turn in, one event out, under the key's tenant; a dialogue gets its events in order with its context carried")
    func analyze() async throws {
        let app = Application(router: try Fixture.gateway().router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/analyze", method: .post, headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"],
                                     body: ByteBuffer(string: Fixture.turn("d1", 1, "I am furious"))) { r in
                #expect(r.status == .ok)
                let event = try Self.json(r.body)
                #expect(event["dialogue_id"] as? String == "d1" && event["tenant"] as? String == "acme")
                #expect((event["emotion"] as? [String: Any])?["label"] as? String == "rage")
                #expect(event["explanation"] != nil, "alert turns always carry an explanation")
            }
            let dialogue = "{\"turns\":[\(Fixture.turn("d1", 1, "hello")),\(Fixture.turn("d1", 2, "hi")),\(Fixture.turn("d1", 3, "thanks"))]}"
            try await client.execute(uri: "/v1/analyze?explain=true", method: .post, headers: [HTTPField.Name("X-API-Key")!: "globex-key-0123456789abcdefghij"],
                                     body: ByteBuffer(string: dialogue)) { r in
                #expect(r.status == .ok)
                let events = try #require(try Self.json(r.body)["events"] as? [[String: Any]])
                #expect(events.map { $0["turn_id"] as? Int } == [1, 2, 3])
                // The stand-in's risk is the dialogue's turn count / 100: the state ran through the turns.
                #expect(events.map { (($0["escalation"] as? [String: Any])?["risk"] as? Double).map { Int(($0 * 100).rounded()) } } == [1, 2, 3])
                #expect(events.allSatisfy { $0["explanation"] != nil && $0["tenant"] as? String == "globex" })
            }
        }
    }

    @Test("a response shows no card number: explanation words redacted, redactions counted; /try shows the redacted text")
    func responsesAreRedacted() async throws {
        let app = Application(router: try Fixture.gateway().router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/analyze?explain=true", method: .post, headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"],
                                     body: ByteBuffer(string: Fixture.turn("d1", 1, "furious: my card is 4111 1111 1111 1111"))) { r in
                #expect(r.status == .ok)
                #expect(!String(buffer: r.body).contains("4111"), "\(String(buffer: r.body))")
                let event = try Self.json(r.body)
                #expect((event["redactions"] as? [String: Any])?["card"] as? Int == 1)
                let words = ((event["explanation"] as? [String: Any])?["words"] as? [[String: Any]])?.compactMap { $0["word"] as? String }
                #expect(words?.first == "furious" && words?.dropFirst().allSatisfy { $0 == "[CARD]" } == true, "\(words ?? [])")
            }
            try await client.execute(uri: "/try?text=furious+my+card+is+4111+1111+1111+1111", method: .get,
                                     headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"]) { r in
                #expect(r.status == .ok)
                let page = String(buffer: r.body), result = page.components(separatedBy: "id=\"result\"").last ?? ""
                #expect(page.contains("id=\"result\"") && result.contains("[CARD]") && !result.contains("4111"))
            }
        }
    }

    @Test("requests are refused with their status and a JSON error naming the field", arguments: [
        ("", Fixture.turn("d", 1, "x"), 401, "unauthorized", "Authorization"),
        ("wrong-key", Fixture.turn("d", 1, "x"), 401, "unauthorized", "Authorization"),
        ("acme-key-0123456789abcdefghij", "not json", 422, "invalid_request", "body"),
        ("acme-key-0123456789abcdefghij", "[1,2]", 422, "invalid_request", "body"),
        ("acme-key-0123456789abcdefghij", "{\"dialogue_id\":\"d\",\"turn_id\":1,\"speaker\":\"c\"}", 422, "invalid_turn", "text"),
        ("acme-key-0123456789abcdefghij", "{\"turns\":[\(Fixture.turn("d", 1, "x")),{\"dialogue_id\":\"d\",\"turn_id\":\"two\",\"speaker\":\"c\",\"text\":\"y\"}]}", 422, "invalid_turn", "turns[1].turn_id"),
        ("acme-key-0123456789abcdefghij", "{\"turns\":[\(Fixture.turn("d", 1, "x")),\(Fixture.turn("e", 2, "y"))]}", 422, "invalid_turn", "turns[1].dialogue_id"),
        ("acme-key-0123456789abcdefghij", "{\"turns\":[]}", 422, "invalid_request", "turns"),
        ("acme-key-0123456789abcdefghij", "{\"turns\":[" + (1...65).map { Fixture.turn("d", $0, "x") }.joined(separator: ",") + "]}", 422, "too_many_turns", "turns"),
        ("acme-key-0123456789abcdefghij", Fixture.turn("d", 1, "x", tenant: "globex"), 403, "forbidden", "tenant"),
        ("acme-key-0123456789abcdefghij", Fixture.turn("d", 1, String(repeating: "a", count: 5_001)), 422, "invalid_turn", "text"),
    ] as [(String, String, Int, String, String)])
    func refused(key: String, body: String, status: Int, code: String, field: String) async throws {
        let app = Application(router: try Fixture.gateway().router())
        try await app.test(.router) { client in
            let headers: HTTPFields = key.isEmpty ? [:] : [.authorization: "Bearer \(key)"]
            try await client.execute(uri: "/v1/analyze", method: .post, headers: headers, body: ByteBuffer(string: body)) { r in
                #expect(r.status.code == status)
                #expect(r.headers[.contentType] == "application/json")
                let e = try Self.errorField(r.body)
                #expect(e.code == code && e.field == field, "\(e)")
            }
        }
    }

    @Test("a body over the limit gets 413; the all-tenant key keeps a turn's own tenant")
    func bodyLimitAndAllTenants() async throws {
        let app = Application(router: try Fixture.gateway { $0.maxBodyBytes = 200 }.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/analyze", method: .post, headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"],
                                     body: ByteBuffer(string: Fixture.turn("d", 1, String(repeating: "a", count: 300)))) { r in
                let e = try Self.errorField(r.body)
                #expect(r.status == .contentTooLarge && e.field == "body")
            }
            try await client.execute(uri: "/v1/analyze", method: .post, headers: [.authorization: "Bearer viewer-key-0123456789abcdefghij"],
                                     body: ByteBuffer(string: Fixture.turn("d", 1, "x", tenant: "globex"))) { r in
                let event = try Self.json(r.body)
                #expect(r.status == .ok && event["tenant"] as? String == "globex")
            }
        }
    }

    @Test("concurrent requests share batches, and each starts its dialogue afresh even with the same dialogue id")
    func microBatching() async throws {
        let analyzer = CountingAnalyzer(delay: .milliseconds(20))
        let app = Application(router: try Fixture.gateway(analyzer).router())
        try await app.test(.router) { client in
            let risks = try await withThrowingTaskGroup(of: Double?.self) { group in
                for _ in 0..<24 {
                    group.addTask {
                        try await client.execute(uri: "/v1/analyze", method: .post, headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"],
                                                 body: ByteBuffer(string: Fixture.turn("same", 1, "hello"))) { r in
                            (try Self.json(r.body)["escalation"] as? [String: Any])?["risk"] as? Double
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(risks.count == 24 && risks.allSatisfy { $0.map { abs($0 - 0.01) < 1e-6 } ?? false }, "every request saw a fresh state: \(risks)")
        }
        let batches = analyzer.batches.withLock { $0 }
        #expect(batches.reduce(0, +) == 24)
        #expect(batches.count < 24 && batches.max()! > 1, "requests that waited were batched together: \(batches)")
    }

    @Test("more requests in flight than the limit get 429 with Retry-After; the rest succeed")
    func overload() async throws {
        let analyzer = CountingAnalyzer(delay: .milliseconds(300))
        let app = Application(router: try Fixture.gateway(analyzer) { $0.maxInFlight = 2; $0.retryAfterSeconds = 3 }.router())
        try await app.test(.router) { client in
            let results = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for i in 0..<6 {
                    group.addTask {
                        try await client.execute(uri: "/v1/analyze", method: .post, headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"],
                                                 body: ByteBuffer(string: Fixture.turn("d\(i)", 1, "hi"))) { r in
                            (r.status.code, r.headers[.retryAfter])
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let refused = results.filter { $0.0 == 429 }
            #expect(results.filter { $0.0 == 200 }.count >= 2 && !refused.isEmpty, "\(results)")
            #expect(refused.allSatisfy { $0.1 == "3" })
            #expect(results.allSatisfy { $0.0 == 200 || $0.0 == 429 })
        }
    }

    @Test("whatever the body, the answer is 200 or a 4xx with a JSON error, and the server goes on")
    func garbageBodies() async throws {
        var rng = SystemRandomNumberGenerator()
        var bodies = [String(repeating: "[", count: 200_000), String(repeating: "{\"turns\":", count: 50_000), "null", "1e999", "\"\u{0}\"",
                      "{\"turns\":[1]}", "{\"turns\":{}}", "{\"turns\":[{}],\"x\":1}", Fixture.turn("d\\u0000", 1, "x"), Fixture.turn("d", -1, "x")]
        let pieces = ["{", "}", "[", "]", "\"turns\"", "\"text\"", ":", ",", "\"x\"", "1", "null", "\\u0000", "\u{FFFF}", " "]
        for _ in 0..<300 { bodies.append((0..<Int.random(in: 1...40, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()) }
        let app = Application(router: try Fixture.gateway().router())
        try await app.test(.router) { [bodies] client in
            for body in bodies {
                try await client.execute(uri: "/v1/analyze", method: .post, headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"], body: ByteBuffer(string: body)) { r in
                    #expect(r.status == .ok || (400..<500).contains(r.status.code), "\(r.status) for \(body.prefix(60))")
                    if r.status != .ok { _ = try Self.errorField(r.body) }
                }
            }
            try await client.execute(uri: "/v1/analyze", method: .post, headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"],
                                     body: ByteBuffer(string: Fixture.turn("d", 1, "still here"))) { r in #expect(r.status == .ok) }
        }
    }

    @Test("the OpenAPI document and the schemas it refers to are served without a key")
    func documents() async throws {
        let app = Application(router: try Fixture.gateway().router())
        try await app.test(.router) { client in
            for path in ["/openapi.json", "/turn.schema.json", "/emotion-event.schema.json"] {
                try await client.execute(uri: path, method: .get) { r in
                    let doc = try Self.json(r.body)
                    #expect(r.status == .ok && !doc.isEmpty, "\(path)")
                }
            }
            let doc = try await client.execute(uri: "/openapi.json", method: .get) { try Self.json($0.body) }
            #expect(doc["openapi"] as? String == "3.1.0")
            #expect(((doc["paths"] as? [String: Any])?["/v1/analyze"]) != nil)
        }
    }
}
