import Contracts
import Foundation
import Hummingbird
import NIOCore
import Pipeline
import Redaction

// The live web view: server-rendered HTML, a little hand-written JS that refreshes a page's live
// region when the server-sent events say something changed, and SVG charts. Read-only.

extension HTTPGateway {
    func addPages(to router: Router<GatewayRequestContext>) {
        addSessionRoutes(to: router)
        router.get("static/app.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: PageAssets.script)))
        }
        router.get("static/app.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: PageAssets.style)))
        }
        router.get("/") { request, context in
            try await self.page(request, context: context) { tenant in
                let filter = request.uri.queryParameters.get("tenant").flatMap { $0.isEmpty ? nil : String($0) }
                return ("Live dialogues", self.listSection(tenant: tenant, filter: filter))
            }
        }
        // A dialogue is its tenant and its id: `/dialogues/{tenant}/{id}`, or `/dialogues/{id}` for
        // one without a tenant. A link of the older form (`/dialogues/{id}`) is sent on to the one
        // dialogue of that id the key may see.
        // (The router needs one name for the first segment of both routes.)
        router.get("dialogues/:first/:id") { request, context in
            let key = LiveDialogues.Key(tenant: Self.pathParameter(context, "first"), id: Self.pathParameter(context, "id"))
            return try await self.dialoguePage(request, context: context, key)
        }
        router.get("dialogues/:first") { request, context in
            try await self.dialoguePage(request, context: context, LiveDialogues.Key(tenant: nil, id: Self.pathParameter(context, "first")))
        }
        router.get("try") { request, context in
            // `/try?text=...&context=...` analyzes too, so a result can be linked to.
            let fields = Self.form(ByteBuffer(string: request.uri.query ?? ""))
            return try await self.page(request, context: context) { tenant in
                guard fields["text"] != nil else { return ("Try a turn", PageRender.tryForm(text: "", context: "", speaker: "customer")) }
                return ("Try a turn", try await self.tryResult(fields, tenant: tenant))
            }
        }
        router.post("try") { request, context in
            if let refused = self.refuseCrossSite(request) { return refused }
            var request = request
            let form = Self.form(try await request.collectBody(upTo: 64 * 1024))
            return try await self.page(request, context: context) { tenant in ("Try a turn", try await self.tryResult(form, tenant: tenant)) }
        }
        router.get("events") { request, context in
            guard let tenant = try self.pageTenant(of: request, context: context) else {
                return self.errorResponse(GatewayError(.unauthorized, "a valid API key is required"))
            }
            guard self.eventClients.admit(tenant) else {
                throw GatewayError(.overloaded, "too many live pages are open; retry later", isRetriable: true)
            }
            let channel = context.channel
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: .init { writer in
                defer { self.eventClients.release(tenant) }
                try await self.streamEvents(to: &writer, closed: channel?.closeFuture)
            })
        }
    }

    /// Writes an `update` event after each batch the live view records (at most four a second),
    /// and a comment every ``GatewayConfiguration/eventsHeartbeat``; it ends as soon as the
    /// connection closes (`closed`), which a heartbeat to a client that went away makes happen
    /// within one interval even when nothing is recorded (as under `serve`).
    private func streamEvents(to writer: inout any ResponseBodyWriter, closed: EventLoopFuture<Void>?) async throws {
        metrics.liveClients.increment()
        defer { metrics.liveClients.decrement() }
        let (events, sink) = AsyncStream.makeStream(of: Int?.self, bufferingPolicy: .bufferingNewest(2))
        let updates = live.updates(), heartbeat = configuration.eventsHeartbeat
        let pump = Task {
            for await version in updates { sink.yield(version) }
            sink.finish()
        }
        let beat = Task {
            while (try? await Task.sleep(for: heartbeat)) != nil { sink.yield(nil) }
        }
        closed?.whenComplete { _ in sink.finish() }
        defer {
            pump.cancel()
            beat.cancel()
        }
        try await writer.write(ByteBuffer(string: "retry: 2000\n: connected\n\n"))
        for await event in events {
            guard let version = event else {
                try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                continue
            }
            try await writer.write(ByteBuffer(string: "event: update\ndata: \(version)\n\n"))
            // At most four refreshes a second per page, whatever the stream's rate.
            try await Task.sleep(for: .milliseconds(250))
        }
        try await writer.finish(nil)
    }

    /// A page behind a key: a browser without one is sent to `/login`. With `?fragment=1` only the
    /// live region is sent (the page's script swaps it in). `content` returns nil for not found.
    private func page(_ request: Request, context: GatewayRequestContext,
                      _ content: (String) async throws -> (title: String, body: String)?) async throws -> Response {
        guard let tenant = try pageTenant(of: request, context: context) else {
            let next = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
            return Response(status: .seeOther, headers: [.location: "/login?next=\(Self.percentEncoded(next))"])
        }
        guard let (title, body) = try await content(tenant) else {
            return html(PageRender.layout(title: "Not found", tenant: tenant, live: false, body: "<p>No such dialogue among the live ones. <a href=\"/\">All live dialogues</a></p>"), status: .notFound)
        }
        if request.uri.queryParameters.get("fragment") == "1" { return html(body) }
        let live = request.method == .get && request.uri.path != "/try" && request.uri.queryParameters.get("explain") != "1"
        return html(PageRender.layout(title: title, tenant: tenant, live: live, body: "<div id=\"live\">\(body)</div>"))
    }

    /// A dialogue's page, if the key may see it; a tenant-less `key` that is not found is looked up
    /// among the dialogues of that id the key may see, and the browser sent on to the only one.
    private func dialoguePage(_ request: Request, context: GatewayRequestContext, _ key: LiveDialogues.Key) async throws -> Response {
        if key.tenant == nil, let caller = try pageTenant(of: request, context: context), live.dialogue(key, caller: caller) == nil {
            let same = live.list(tenant: caller).filter { $0.id == key.id }
            if same.count == 1 {
                return Response(status: .seeOther, headers: [.location: Self.path(of: same[0]) + (request.uri.query.map { "?\($0)" } ?? "")])
            }
        }
        return try await page(request, context: context) { caller in
            guard let d = self.live.dialogue(key, caller: caller) else { return nil }
            let selected = request.uri.queryParameters.get("turn").map { String($0) }
            let explain = request.uri.queryParameters.get("explain") == "1"
            return ("Dialogue \(d.id)", try await self.dialogueSection(d, selected: selected, explain: explain, caller: caller))
        }
    }

    /// A dialogue page's path: `/dialogues/{tenant}/{id}`, each percent-encoded.
    static func path(of d: LiveDialogues.DialogueView) -> String {
        "/dialogues/" + (d.tenant.map { percentEncoded($0) + "/" } ?? "") + percentEncoded(d.id)
    }

    /// A path parameter, percent-decoded (a dialogue id may hold spaces, `:`, `/` or any letter).
    static func pathParameter(_ context: GatewayRequestContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: Sections

    func listSection(tenant: String, filter: String?) -> String {
        let dialogues = live.list(tenant: tenant, filter: filter)
        var out = ""
        if tenant == APIKeys.allTenants {
            let options = live.tenants.map { t in
                "<option value=\"\(HTMLText.escaped(t))\"\(t == filter ? " selected" : "")>\(HTMLText.escaped(t))</option>"
            }.joined()
            out += """
                <form class="filter" method="get" action="/"><label for="tenant">Tenant</label> \
                <select id="tenant" name="tenant"><option value="">all</option>\(options)</select> \
                <button type="submit">Filter</button></form>
                """
        }
        guard !dialogues.isEmpty else {
            return out + "<p class=\"empty\">No live dialogues yet. They appear here as their turns are audited.</p>"
        }
        out += "<table class=\"dialogues\"><caption>\(dialogues.count) live dialogues, highest escalation risk first</caption>"
        out += "<thead><tr><th scope=\"col\">Dialogue</th><th scope=\"col\">Tenant</th><th scope=\"col\">Turns</th><th scope=\"col\">Latest emotion</th><th scope=\"col\">Risk</th><th scope=\"col\">Alerts</th><th scope=\"col\">Updated</th></tr></thead><tbody>"
        for d in dialogues {
            let last = d.turns.last
            out += "<tr data-dialogue=\"\(HTMLText.escaped(d.id))\"><td><a href=\"\(Self.path(of: d))\">\(HTMLText.escaped(d.id))</a></td>"
            out += "<td>\(HTMLText.escaped(d.tenant ?? "—"))</td><td>\(d.turnCount)</td>"
            out += "<td>\(last.map(PageRender.emotionCell) ?? "")</td>"
            out += "<td>\(PageRender.riskCell(d.risk))</td>"
            out += "<td>\(d.alerts > 0 ? "<span class=\"badge alert\">⚠ \(d.alerts) alert\(d.alerts == 1 ? "" : "s")</span>" : "none")</td>"
            out += "<td><time datetime=\"\(EmotionEvent.timestamp(d.updated))\">\(PageRender.clock(d.updated))</time></td></tr>"
        }
        return out + "</tbody></table>"
    }

    /// A dialogue's page body; with `explain`, the selected turn's words, computed on `caller`'s budget.
    func dialogueSection(_ d: LiveDialogues.DialogueView, selected: String?, explain: Bool, caller: String) async throws -> String {
        let turn = d.turns.last { $0.turnID == selected } ?? d.turns.last!
        let event = try? JSONDecoder().decode(EventParts.self, from: Data(turn.eventJSON.utf8))
        var out = "<p><a href=\"/\">← All live dialogues</a> · tenant \(HTMLText.escaped(d.tenant ?? "—")) · \(d.turnCount) turns"
        out += d.turnCount > d.turns.count ? " (the latest \(d.turns.count) shown)" : ""
        out += " · <span data-testid=\"alert-count\">\(d.alerts)</span> alert\(d.alerts == 1 ? "" : "s")</p>"
        out += "<h2>Intensity and escalation risk over time</h2>" + PageRender.trajectory(d.turns)
        out += "<div class=\"split\"><section aria-labelledby=\"turns-h\"><h2 id=\"turns-h\">Turns</h2>"
        out += "<table class=\"turns\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Speaker</th><th scope=\"col\">Text</th><th scope=\"col\">Emotion</th><th scope=\"col\">Sarcasm</th><th scope=\"col\">Intensity</th><th scope=\"col\">Risk</th></tr></thead><tbody>"
        for t in d.turns {
            let current = t.turnID == turn.turnID
            out += "<tr class=\"turn\(current ? " selected" : "")\(t.alert ? " alerted" : "")\"\(current ? " aria-current=\"true\"" : "")>"
            out += "<td><a href=\"?turn=\(Self.percentEncoded(t.turnID))\">\(HTMLText.escaped(t.turnID))</a></td>"
            out += "<td>\(HTMLText.escaped(t.speaker))</td><td class=\"text\">\(t.text.map(HTMLText.escaped) ?? "<em>(hashed: only its SHA-256 is kept)</em>")</td>"
            out += "<td>\(PageRender.emotionCell(t))</td><td>\(PageRender.percent(t.sarcasm))</td><td>\(PageRender.percent(t.intensity))</td>"
            out += "<td>\(PageRender.riskCell(t.risk ?? 0))\(t.alert ? " <span class=\"badge alert alert-mark-row\">⚠ alert</span>" : "")</td></tr>"
        }
        out += "</tbody></table></section><section aria-labelledby=\"sel-h\"><h2 id=\"sel-h\">Turn \(HTMLText.escaped(turn.turnID))</h2>"
        if let primaries = event?.primaries { out += PageRender.radar(primaries) }
        // A hashed text's explanation would show its words: neither is shown, nor re-analysed.
        var words = turn.text == nil ? nil : event?.explanation?.words
        if explain, turn.text != nil, words == nil || words!.isEmpty, let i = d.turns.firstIndex(where: { $0.turnID == turn.turnID }) {
            words = try await explainWords(Array(d.turns[...i]), of: d, caller: caller)
        }
        if let words, !words.isEmpty {
            out += PageRender.highlights(text: turn.text ?? "", words: words, label: turn.emotion)
        } else if explain {
            out += "<p>No word attributions for this turn (its text is hashed, it has emoji, or no word weighed).</p>"
        } else {
            out += "<p><a href=\"?turn=\(Self.percentEncoded(turn.turnID))&amp;explain=1\">Why \(HTMLText.escaped(turn.emotion))? Show the words that weighed</a></p>"
        }
        return out + "</section></div>"
    }

    /// Re-analyzes a dialogue's kept turns up to the last (at most a request's ``GatewayConfiguration/maxTurns``)
    /// with explanations, under the dialogue's own tenant (the live view keeps no attributions for
    /// turns that were not alerts); cached per (dialogue, last turn). Nil when a text is hashed or
    /// the model fails.
    /// - Throws: ``GatewayError`` 429 when `caller`'s budget or the model's queue is full.
    private func explainWords(_ turns: [LiveDialogues.TurnView], of d: LiveDialogues.DialogueView, caller: String) async throws -> [Explanation.Word]? {
        let turns = turns.suffix(configuration.maxTurns)
        guard let last = turns.last else { return nil }
        let key = ExplanationCache.Key(dialogue: d.key, turnID: last.turnID)
        if let words = explanations[key] { return words }
        var timed: [TimedTurn] = []
        for (i, t) in turns.enumerated() {
            guard let text = t.text else { return nil }
            timed.append(TimedTurn(turn: Turn(dialogueID: d.id, turnID: Int(t.turnID) ?? i + 1, speaker: t.speaker,
                                              role: t.role.flatMap(Turn.Role.init(rawValue:)), text: text, tenant: d.tenant), timestamp: t.at))
        }
        do {
            let words = try await admitted(timed, caller: caller, explain: true, onlyLast: true).last?.explanation?.words
            explanations[key] = words
            return words
        } catch let error as GatewayError where error.status == .tooManyRequests {
            throw error
        } catch {
            logger.error("explanation failed", metadata: ["error.cause": "\(error)"])
            return nil
        }
    }

    /// `/try`: the form's turn (after the optional earlier turns, one per line, `speaker: text`),
    /// analyzed like a request to `/v1/analyze?explain=true`.
    /// - Throws: ``GatewayError`` 429 when the caller's budget or the model's queue is full.
    func tryResult(_ form: [String: String], tenant: String) async throws -> String {
        let text = form["text"] ?? "", contextText = form["context"] ?? ""
        let speaker = form["speaker"] == "agent" ? "agent" : "customer"
        // The form comes back as the tenant's policy leaves it, like the result.
        let shown = policies.policies.policy(for: tenant == APIKeys.allTenants ? nil : tenant).redactor()
        var out = PageRender.tryForm(text: shown.redact(text).text, context: shown.redact(contextText).text, speaker: speaker)
        var turns: [Turn] = []
        for line in contextText.split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            var who = "customer", said = String(line)
            if let colon = line.firstIndex(of: ":"), ["customer", "agent"].contains(line[..<colon].lowercased()) {
                who = line[..<colon].lowercased()
                said = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            turns.append(Turn(dialogueID: "try", turnID: turns.count + 1, speaker: who, role: Turn.Role(rawValue: who), text: said))
        }
        turns.append(Turn(dialogueID: "try", turnID: turns.count + 1, speaker: speaker, role: Turn.Role(rawValue: speaker), text: text))
        guard turns.count <= configuration.maxTurns else {
            return out + PageRender.problem("At most \(configuration.maxTurns) turns, the earlier ones included.")
        }
        let now = Date(), encoder = EmotionEvent.encoder()
        var timed: [TimedTurn] = []
        for (i, var t) in turns.enumerated() {
            t.tenant = tenant == APIKeys.allTenants ? nil : tenant
            guard let bytes = try? encoder.encode(t) else { return out }
            do { timed.append(try configuration.validator.validate(Array(bytes), recordTimestampMs: nil, now: now.addingTimeInterval(Double(i - turns.count)))) } catch {
                return out + PageRender.problem(i == turns.count - 1 ? "The turn: \(error.reason)" : "Earlier turn \(i + 1): \(error.reason)")
            }
        }
        do {
            let analyses = try await admitted(timed, caller: tenant, explain: true, onlyLast: true)
            let (events, texts) = self.events(timed, analyses, modelVersion: batcher.analyzer.modelVersion)
            out += "<div id=\"result\">" + PageRender.result(events.last!, text: texts.last!, earlier: events.dropLast()) + "</div>"
        } catch let error as GatewayError where error.status == .tooManyRequests {
            throw error
        } catch {
            logger.error("try failed", metadata: ["error.cause": "\(error)"])
            out += PageRender.problem("The model could not analyze this now; try again later.")
        }
        return out
    }

    // MARK: Helpers

    /// What the dialogue page reads back from a published event.
    struct EventParts: Decodable {
        var primaries: [String: Float]?
        var explanation: Explanation?
    }

    /// An `application/x-www-form-urlencoded` body.
    static func form(_ body: ByteBuffer) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            out[decode(kv[0])] = kv.count > 1 ? decode(kv[1]) : ""
        }
        return out
    }

    static func percentEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }
}
