import Contracts
import Foundation
@testable import Gateway
import Hummingbird
import HummingbirdTesting
import Pipeline
import Testing

@Suite("The live web view")
struct LiveViewTests {
    static let viewer: HTTPFields = [.authorization: "Bearer \(Fixture.key("*"))"]

    @Test("numbers that are not finite render as n/a instead of trapping the process", arguments: [Float.nan, .infinity, -.infinity, 1e38])
    func nonFiniteNumbersRender(value: Float) {
        #expect(PageRender.percent(value) == "n/a")
        #expect(PageRender.riskCell(value).contains(value.isFinite ? "high" : "n/a"))
        #expect(PageRender.percent(0.424) == "42%" && PageRender.riskCell(0.2).contains("0.20 low"))
    }

    @Test("dialogues are listed by escalation risk, bounded, and a tenant's key sees its own only")
    func registry() {
        let live = LiveDialogues(maxDialogues: 3, maxTurnsPerDialogue: 2)
        live.record([Fixture.row("a", 1, tenant: "acme", risk: 0.2), Fixture.row("b", 1, tenant: "globex", risk: 0.9)])
        live.record([Fixture.row("a", 2, tenant: "acme", risk: 0.5), Fixture.row("a", 3, tenant: "acme", risk: 0.7, alert: true)])
        #expect(live.list(tenant: "*").map(\.id) == ["b", "a"])
        #expect(live.list(tenant: "acme").map(\.id) == ["a"])
        #expect(live.list(tenant: "*", filter: "globex").map(\.id) == ["b"])
        let b = LiveDialogues.Key(tenant: "globex", id: "b")
        #expect(live.dialogue(b, caller: "acme") == nil && live.dialogue(b, caller: "globex") != nil)
        let a = live.dialogue(.init(tenant: "acme", id: "a"), caller: "acme")!
        #expect(a.turnCount == 3 && a.turns.map(\.turnID) == ["2", "3"] && a.alerts == 1)
        live.record([Fixture.row("c", 1, tenant: nil, risk: 0), Fixture.row("d", 1, tenant: nil, risk: 0)])
        #expect(live.list(tenant: "*").count == 3, "the least recently updated dialogue made room")
        #expect(live.dialogue(b, caller: "*") == nil)
    }

    /// #40 item 5. Finding: the live view was bounded by count only (2,000 × 200 turns of up to
    /// 32 KiB each: gigabytes).
    @Test("the live view is bounded in bytes: past the budget the least recently updated dialogues go, and the count is exact")
    func byteBudget() {
        let live = LiveDialogues(maxDialogues: 1_000, maxTurnsPerDialogue: 20, maxBytes: 1 << 20)
        let text = String(repeating: "x", count: 8 << 10)
        for d in 0..<60 {
            live.record((1...25).map { Fixture.row("d\(d)", $0, tenant: "acme", risk: 0, text: text) })
        }
        let kept = live.list(tenant: "*")
        let recount = kept.reduce(0) { $0 + $1.bytes }
        #expect(live.bytes == recount && live.bytes <= 1 << 20 && live.bytes > (1 << 20) - 200 << 10, "\(live.bytes) bytes")
        #expect(kept.allSatisfy { $0.turns.count == 20 && $0.bytes == 128 + $0.id.utf8.count + 4 + $0.turns.reduce(0) { $0 + $1.bytes } })
        #expect(kept.contains { $0.id == "d59" } && !kept.contains { $0.id == "d0" }, "the newest stays, the oldest went")
    }

    @Test("after many updates (and the recency order's compactions) the least recently updated dialogue is the one dropped")
    func recencyAfterManyUpdates() {
        let live = LiveDialogues(maxDialogues: 2, maxTurnsPerDialogue: 5)
        for i in 1...501 { live.record([Fixture.row(i % 2 == 0 ? "a" : "b", i, tenant: nil, risk: 0)]) }
        live.record([Fixture.row("c", 1, tenant: nil, risk: 0)])
        #expect(Set(live.list(tenant: "*").map(\.id)) == ["b", "c"], "b was updated last (turn 501), so a goes")
        let b = live.dialogue(.init(tenant: nil, id: "b"), caller: "*")
        #expect(b?.turnCount == 251 && b?.turns.count == 5)
    }

    @Test("the list, a dialogue's page with its turns, radar, trajectory and alert marks, and the fragment the script swaps in")
    func pages() async throws {
        let gateway = try Fixture.gateway()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        gateway.live.record((1...4).map { Fixture.row("D-7", $0, tenant: "acme", risk: Float($0) / 5, alert: $0 == 3, at: t0.addingTimeInterval(Double($0) * 30)) })
        gateway.live.record([Fixture.row("D-8", 1, tenant: "globex", risk: 0.1)])
        let app = Application(router: gateway.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get, headers: Self.viewer) { r in
                let html = String(buffer: r.body)
                #expect(r.status == .ok && html.contains("<html lang=\"en\">") && html.contains("/static/app.js"))
                let d7 = try #require(html.range(of: "href=\"/dialogues/acme/D-7\"")), d8 = try #require(html.range(of: "href=\"/dialogues/globex/D-8\""))
                #expect(d7.lowerBound < d8.lowerBound, "highest risk first")
                #expect(html.contains("1 alert") && html.contains("0.80 high"))
            }
            try await client.execute(uri: "/?tenant=globex&fragment=1", method: .get, headers: Self.viewer) { r in
                let html = String(buffer: r.body)
                #expect(!html.contains("<html") && html.contains("D-8") && !html.contains("D-7"))
            }
            try await client.execute(uri: "/", method: .get, headers: [.authorization: "Bearer \(Fixture.key("globex"))"]) { r in
                #expect(!String(buffer: r.body).contains("D-7"), "another tenant's dialogue stays hidden")
            }
            try await client.execute(uri: "/dialogues/acme/D-7", method: .get, headers: [.authorization: "Bearer \(Fixture.key("globex"))"]) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(uri: "/dialogues/acme/D-7?turn=2", method: .get, headers: [.authorization: "Bearer acme-key-0123456789abcdefghij"]) { r in
                let html = String(buffer: r.body)
                #expect(r.status == .ok)
                #expect(html.components(separatedBy: "<tr class=\"turn").count - 1 == 4)
                #expect(html.components(separatedBy: "class=\"alert-mark\"").count - 1 == 1)
                #expect(html.contains("aria-current=\"true\"><td><a href=\"?turn=2\">"))
                #expect(html.contains("class=\"radar\"") && html.contains("<li>joy 50%</li>"))
                #expect(html.contains("class=\"trajectory\"") && html.contains("alert at turn 3"))
            }
        }
    }

    @Test("/try analyzes a turn after its earlier turns and shows the result with the words that weighed")
    func tryPage() async throws {
        let app = Application(router: try Fixture.gateway().router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/try", method: .get, headers: Self.viewer) { r in
                #expect(String(buffer: r.body).contains("<form method=\"post\" action=\"/try\""))
            }
            let form = "text=I+am+furious%21&speaker=customer&context=agent%3A+How+can+I+help%3F%0Ahello"
            try await client.execute(uri: "/try", method: .post, headers: Self.viewer.merging([.contentType: "application/x-www-form-urlencoded"]),
                                     body: ByteBuffer(string: form)) { r in
                let html = String(buffer: r.body)
                #expect(r.status == .ok)
                #expect(html.contains("data-testid=\"label\">rage</span>"))
                #expect(html.contains("<mark class=\"for m4\""))
                #expect(html.components(separatedBy: "<li>").count > 2 && html.contains("<h3>Earlier turns</h3>"))
                #expect(html.contains("I am furious!</textarea>"), "the form keeps what was typed")
            }
            try await client.execute(uri: "/try?text=so+furious%2C+really", method: .get, headers: Self.viewer) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("so furious, really</textarea>") && html.contains("data-testid=\"label\">rage</span>"), "a result can be linked to")
            }
        }
    }

    @Test("on demand, only the turn asked about is explained (each costs an encoder pass per word); its words are marked as written")
    func explainsTheLastTurnOnly() async throws {
        let batcher = AnalyzeBatcher(analyzer: CountingAnalyzer())
        let turns = (1...3).map { TimedTurn(turn: Turn(dialogueID: "d", turnID: $0, speaker: "c", text: "hello \($0)"), timestamp: Date()) }
        let last = try await batcher.analyze(turns, explain: true, onlyLast: true)
        #expect(last.map { $0.explanation != nil } == [false, false, true])
        let all = try await batcher.analyze(turns, explain: true)
        #expect(all.allSatisfy { $0.explanation != nil })
        let html = PageRender.highlights(text: "I am furious! Really", words: [.init(word: "furious!", contribution: 0.4)], label: "rage")
        #expect(html.contains("<mark class=\"for m4\"") && html.contains(">furious!</mark>"))
    }

    @Test("each record wakes the live pages' event streams; closing ends them")
    func updates() async throws {
        let live = LiveDialogues()
        let stream = live.updates()
        live.record([Fixture.row("a", 1, tenant: nil, risk: 0.1)])
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next() == 1)
        live.close()
        #expect(await iterator.next() == nil)
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var out = self
        for f in other { out.append(f) }
        return out
    }
}
