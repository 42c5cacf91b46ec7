import Contracts
import Foundation
@testable import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Pipeline
import Testing

/// #40 item 3. Findings: only `POST /v1/analyze` took an in-flight slot; `/try` and `?explain=1`
/// (re-running up to 200 turns on every request and fragment refresh) went straight into the
/// batcher, whose queue had no bound, so a 200-request `/try` flood from one key got no 429.
@Suite("One admission gate for all model work")
struct AdmissionTests {
    static func headers(_ tenant: String) -> HTTPFields { [.authorization: "Bearer \(Fixture.key(tenant))"] }

    static func server(_ gateway: HTTPGateway<CountingAnalyzer>) -> Application<RouterResponder<GatewayRequestContext>> {
        Application(router: gateway.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test("a /try flood spends its tenant's token bucket (429 rate_limited with Retry-After); another tenant's analyze is served")
    func tokenBucketPerTenant() async throws {
        // Each /try below costs 3 tokens: its turn, and its 2 words explained.
        let gateway = try Fixture.gateway { $0.turnsPerSecond = 1; $0.burstTurns = 15 }
        try await Self.server(gateway).test(.live) { client in
            var statuses: [Int] = []
            for i in 0..<12 {
                try await client.execute(uri: "/try?text=flood+\(i)", method: .get, headers: Self.headers("acme")) { r in
                    statuses.append(r.status.code)
                    if r.status == .tooManyRequests {
                        #expect(Int(r.headers[.retryAfter] ?? "") ?? 0 >= 1 && String(buffer: r.body).contains("rate_limited"))
                    }
                }
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == 200 } && statuses.suffix(6).allSatisfy { $0 == 429 }, "\(statuses)")
            try await client.execute(uri: "/v1/analyze", method: .post, headers: Self.headers("globex"),
                                     body: ByteBuffer(string: Fixture.turn("d", 1, "hello"))) { r in #expect(r.status == .ok) }
        }
    }

    @Test("the model's queue is bounded for every route: analyze, /try and explanations get 429 overloaded when it is full")
    func boundedQueue() async throws {
        let analyzer = CountingAnalyzer(delay: .milliseconds(200))
        let gateway = try Fixture.gateway(analyzer) { $0.maxBatchTurns = 1; $0.maxQueuedTurns = 2 }
        gateway.live.record((1...12).map { Fixture.row("d-\($0)", 1, tenant: "acme", risk: 0.1) })
        try await Self.server(gateway).test(.live) { client in
            let port = try #require(client.port)
            let paths = (1...12).map { i in
                switch i % 3 {
                case 0: "/v1/analyze"
                case 1: "/try?text=hello+\(i)"
                default: "/dialogues/acme/d-\(i)?explain=1"
                }
            }
            let results = try await withThrowingTaskGroup(of: (String, LoopbackHTTP.Answer).self) { group in
                for path in paths {
                    group.addTask {
                        (path, try await LoopbackHTTP.send(port: port, path == "/v1/analyze" ? "POST" : "GET", path,
                                                           headers: ["Authorization": "Bearer \(Fixture.key("acme"))"],
                                                           body: path == "/v1/analyze" ? Fixture.turn("d", 1, "hi") : ""))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let summary = results.map { "\($0.0) \($0.1.status) \($0.1.status == 0 ? $0.1.head : "")" }
            let refused = results.filter { $0.1.status == 429 }
            #expect(refused.count >= 6 && refused.allSatisfy { $0.1.header("Retry-After") != nil && $0.1.body.contains("overloaded") }, "\(summary)")
            for kind in ["/v1/analyze", "/try", "/dialogues/"] {
                #expect(refused.contains { $0.0.hasPrefix(kind) }, "\(kind) is refused too: \(summary)")
            }
            #expect(results.allSatisfy { $0.1.status == 200 || $0.1.status == 429 }, "\(summary)")
        }
        #expect(analyzer.batches.withLock { $0 }.allSatisfy { $0 == 1 })
    }

    @Test("an explanation is computed once per (dialogue, turn) and over at most a request's turns")
    func explanationCachedAndCapped() async throws {
        let analyzer = CountingAnalyzer()
        let gateway = try Fixture.gateway(analyzer) { $0.maxTurns = 64 }
        gateway.live.record((1...150).map { Fixture.row("long", $0, tenant: "acme", risk: 0.1) })
        try await Self.server(gateway).test(.live) { client in
            for query in ["?turn=150&explain=1", "?turn=150&explain=1", "?turn=150&explain=1&fragment=1", "?turn=149&explain=1"] {
                try await client.execute(uri: "/dialogues/acme/long\(query)", method: .get, headers: Self.headers("*")) { r in
                    #expect(r.status == .ok && String(buffer: r.body).contains("<ol class=\"words\">"), "\(query)")
                }
            }
        }
        #expect(analyzer.batches.withLock { $0 } == [64, 64], "turn 150 once (cached after), turn 149 once; 64 turns each")
    }

    @Test("with a share of 25 %, the batcher leaves the analyzer idle three times as long as it used it")
    func analyzerShare() async throws {
        let batcher = AnalyzeBatcher(analyzer: CountingAnalyzer(delay: .milliseconds(100)), share: 0.25)
        let turn = [TimedTurn(turn: Turn(dialogueID: "d", turnID: 1, speaker: "c", text: "hi"), timestamp: Date())]
        let start = ContinuousClock.now
        for _ in 0..<3 { _ = try await batcher.analyze(turn, explain: false) }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(850), "3 × 100 ms of work and 2 × 300 ms of rest: \(elapsed)")
    }

    /// Found measuring (not in the issue's list): with one FIFO queue, a 300-client `/try` flood from
    /// one key made another tenant's single-turn analyze wait behind the whole backlog (p99 6.8 s).
    static func turn(_ i: Int) -> [TimedTurn] { [TimedTurn(turn: Turn(dialogueID: "d\(i)", turnID: 1, speaker: "c", text: "hi"), timestamp: Date())] }

    @Test("a batch takes each caller's oldest request in turn: another tenant's request overtakes a backlog; a caller may fill a quarter of the queue")
    func fairQueue() async throws {
        // The choice itself, without timing: acme has been served and has a backlog; globex's one
        // request, the newest, goes next, then acme's oldest.
        typealias Batcher = AnalyzeBatcher<CountingAnalyzer>
        let jobs = ["acme", "acme", "acme", "acme", "globex"].map { (caller: $0, turns: 1) }
        var served = ["acme": 3]
        #expect(Batcher.fairBatch(jobs, maxTurns: 1, served: &served) == [4])
        #expect(served == ["acme": 3], "globex has nothing left waiting: its tally goes")
        #expect(Batcher.fairBatch(Array(jobs.prefix(4)), maxTurns: 2, served: &served) == [0, 1])
        var fresh: [String: Int] = [:]
        #expect(Batcher.fairBatch(jobs, maxTurns: 2, served: &fresh) == [0, 4], "one of each caller first")
        // A quarter of 8 is 2: with acme's 2 waiting, acme's next is refused; globex's is not (the model is held long enough for every request to arrive).
        let slow = AnalyzeBatcher(analyzer: CountingAnalyzer(delay: .milliseconds(1_500)), maxBatchTurns: 1, maxQueuedTurns: 8)
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for i in 0..<5 { group.addTask { ("acme", (try? await slow.analyze(Self.turn(i), explain: false, caller: "acme")) != nil) } }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(100))
                return ("globex", (try? await slow.analyze(Self.turn(99), explain: false, caller: "globex")) != nil)
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        // 2 or 3 refused: whether the model took acme's first before the others arrived.
        #expect((2...3).contains(results.filter { $0.0 == "acme" && !$0.1 }.count) && results.contains { $0.0 == "globex" && $0.1 }, "\(results)")
    }

    @Test("a bucket refills at its rate up to its burst; a cost above the burst costs the burst")
    func bucket() {
        let buckets = TokenBuckets(rate: 10, burst: 20)
        let t0 = ContinuousClock.now
        #expect(buckets.take(15, from: "a", now: t0) == nil && buckets.take(10, from: "a", now: t0) == 1)
        #expect(buckets.take(10, from: "b", now: t0) == nil, "each caller has its own")
        #expect(buckets.take(10, from: "a", now: t0 + .milliseconds(500)) == nil)
        #expect(buckets.take(500, from: "c", now: t0) == nil && buckets.take(1, from: "c", now: t0) == 1)
        #expect(TokenBuckets(rate: .infinity, burst: 1).take(1_000, from: "a") == nil)
    }
}
