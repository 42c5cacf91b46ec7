import Contracts
import Foundation

/// The web view's HTML and SVG, built as text. Every value is escaped; every colour has a word
/// or a shape beside it.
enum PageRender {
    static func layout(title: String, tenant: String?, live: Bool, body: String) -> String {
        let who = tenant.map { $0 == APIKeys.allTenants ? "all tenants" : "tenant \(HTMLText.escaped($0))" }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTMLText.escaped(title)) · plutchik-stream</title><link rel="stylesheet" href="/static/app.css"></head>
            <body data-live="\(live ? 1 : 0)"><a class="skip" href="#main">Skip to content</a>
            <header><nav aria-label="Main"><strong>plutchik-stream</strong> <a href="/">Live dialogues</a> <a href="/try">Try a turn</a>\
            \(who.map { " <span class=\"who\">Signed in: \($0) <form method=\"post\" action=\"/logout\" class=\"logout\"><button type=\"submit\">Sign out</button></form></span>" } ?? "")</nav></header>
            <main id="main"><h1>\(HTMLText.escaped(title))</h1>
            \(body)
            </main><script src="/static/app.js" defer></script></body></html>
            """
    }

    static func loginForm(next: String, failed: Bool) -> String {
        """
        \(failed ? "<p class=\"problem\" role=\"alert\">That key is not valid.</p>" : "")
        <form method="post" action="/login" class="login"><input type="hidden" name="next" value="\(HTMLText.escaped(next))">
        <label for="key">API key (a viewer key is enough)</label><input id="key" name="key" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button></form>
        """
    }

    static func problem(_ message: String) -> String {
        "<p class=\"problem\" role=\"alert\">\(HTMLText.escaped(message))</p>"
    }

    /// A share as a whole percentage; "n/a" for a value that is not a finite number (a page must
    /// never trap the process that also runs the stream).
    static func percent(_ v: Float) -> String {
        let p = (v * 100).rounded()
        return p.isFinite && abs(p) < 1e9 ? "\(Int(p))%" : "n/a"
    }

    static func clock(_ d: Date) -> String { String(EmotionEvent.timestamp(d).dropFirst(11).prefix(8)) }

    static func emotionCell(_ t: LiveDialogues.TurnView) -> String {
        "<span class=\"emo s-\(HTMLText.escaped(t.sector))\">\(HTMLText.escaped(t.emotion))</span> \(percent(t.confidence))" +
            (t.isNeutral ? " <span class=\"badge\">neutral</span>" : "")
    }

    /// The risk as a number, a word and a bar.
    static func riskCell(_ risk: Float) -> String {
        guard risk.isFinite else { return "<span class=\"risk\"><span class=\"val\">n/a</span></span>" }
        let word = risk >= 0.6 ? "high" : risk >= 0.3 ? "medium" : "low"
        return "<span class=\"risk r-\(word)\"><span class=\"bar w\(Int((min(max(risk, 0), 1) * 20).rounded()))\"></span>" +
            "<span class=\"val\">\(String(format: "%.2f", risk)) \(word)</span></span>"
    }

    /// The 8 primary scores as a radar (scaled to the largest), with the numbers in a list beside it.
    static func radar(_ primaries: [String: Float]) -> String {
        let sectors = PlutchikSector.allCases
        let values = sectors.map { primaries[$0.name] ?? 0 }
        let top = max(values.max() ?? 0, 1e-6)
        let c = 110.0, r = 80.0
        func point(_ i: Int, _ f: Double) -> (Double, Double) {
            let a = Double(i) * .pi / 4 - .pi / 2
            return (c + r * f * cos(a), c + r * f * sin(a))
        }
        var svg = "<svg class=\"radar\" viewBox=\"-30 0 280 220\" role=\"img\" aria-labelledby=\"radar-t\"><title id=\"radar-t\">The 8 primary emotions of the selected turn</title>"
        for ring in [0.5, 1.0] {
            svg += "<polygon class=\"grid\" points=\"\(sectors.indices.map { let p = point($0, ring); return "\(fmt(p.0)),\(fmt(p.1))" }.joined(separator: " "))\"/>"
        }
        for (i, s) in sectors.enumerated() {
            let p = point(i, 1), l = point(i, 1.2)
            svg += "<line class=\"axis\" x1=\"\(c)\" y1=\"\(c)\" x2=\"\(fmt(p.0))\" y2=\"\(fmt(p.1))\"/>"
            svg += "<text x=\"\(fmt(l.0))\" y=\"\(fmt(l.1))\" text-anchor=\"middle\" dominant-baseline=\"middle\">\(s.name)</text>"
        }
        let shape = values.enumerated().map { let p = point($0.offset, Double($0.element / top)); return "\(fmt(p.0)),\(fmt(p.1))" }
        svg += "<polygon class=\"shape\" points=\"\(shape.joined(separator: " "))\"/></svg>"
        let list = zip(sectors, values).sorted { $0.1 > $1.1 }.map { "<li>\($0.0.name) \(percent($0.1))</li>" }.joined()
        return "<figure class=\"radar-fig\">\(svg)<figcaption>Primary emotions (largest first)<ol class=\"primaries\">\(list)</ol></figcaption></figure>"
    }

    /// Intensity (solid) and escalation risk (dashed) over the turns' real times; alerts marked by a
    /// triangle and the word "alert".
    static func trajectory(_ turns: [LiveDialogues.TurnView]) -> String {
        guard !turns.isEmpty else { return "" }
        let w = 720.0, h = 210.0, left = 36.0, right = 28.0, top = 24.0, bottom = 28.0
        let t0 = turns.first!.at, span = turns.last!.at.timeIntervalSince(t0)
        func x(_ i: Int) -> Double {
            let f = span >= 1 ? turns[i].at.timeIntervalSince(t0) / span : (turns.count > 1 ? Double(i) / Double(turns.count - 1) : 0.5)
            return left + f * (w - left - right)
        }
        func y(_ v: Float) -> Double { top + (1 - Double(min(max(v, 0), 1))) * (h - top - bottom) }
        var svg = "<svg class=\"trajectory\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-labelledby=\"traj-t\"><title id=\"traj-t\">Intensity and escalation risk of each turn over time</title>"
        for v: Float in [0, 0.5, 1] {
            svg += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(fmt(y(v)))\" y2=\"\(fmt(y(v)))\"/><text class=\"tick\" x=\"\(left - 4)\" y=\"\(fmt(y(v)))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(v)</text>"
        }
        let intensity = turns.indices.map { "\(fmt(x($0))),\(fmt(y(turns[$0].intensity)))" }.joined(separator: " ")
        let risk = turns.indices.map { "\(fmt(x($0))),\(fmt(y(turns[$0].risk ?? 0)))" }.joined(separator: " ")
        svg += "<polyline class=\"intensity\" points=\"\(intensity)\"/><polyline class=\"risk-line\" points=\"\(risk)\"/>"
        for (i, t) in turns.enumerated() {
            svg += "<circle class=\"pt\" cx=\"\(fmt(x(i)))\" cy=\"\(fmt(y(t.risk ?? 0)))\" r=\"3\"><title>turn \(HTMLText.escaped(t.turnID)): risk \(String(format: "%.2f", t.risk ?? 0)), intensity \(String(format: "%.2f", t.intensity))</title></circle>"
            if t.alert {
                let px = x(i), py = y(t.risk ?? 0) - 8
                svg += "<g class=\"alert-mark\" data-turn=\"\(HTMLText.escaped(t.turnID))\"><title>alert at turn \(HTMLText.escaped(t.turnID))</title>"
                svg += "<path d=\"M\(fmt(px)) \(fmt(py - 9)) L\(fmt(px + 6)) \(fmt(py)) L\(fmt(px - 6)) \(fmt(py)) Z\"/><text x=\"\(fmt(px))\" y=\"\(fmt(py - 12))\" text-anchor=\"middle\">alert</text></g>"
            }
        }
        svg += "<text class=\"tick\" x=\"\(left)\" y=\"\(h - 8)\">\(clock(t0))</text><text class=\"tick\" x=\"\(w - right)\" y=\"\(h - 8)\" text-anchor=\"end\">\(clock(turns.last!.at))</text></svg>"
        return "<figure>\(svg)<figcaption><span class=\"key intensity\">━ intensity</span> <span class=\"key risk-line\">┅ escalation risk</span> <span class=\"key alert\">▲ alert</span></figcaption></figure>"
    }

    /// The turn's text with the words that weighed marked (for the label, or against it), and the
    /// list of those words with their weights.
    static func highlights(text: String, words: [Explanation.Word], label: String) -> String {
        var weights: [String: Float] = [:]
        for w in words { weights[w.word.lowercased()] = w.contribution }
        let top = max(words.map { abs($0.contribution) }.max() ?? 0, 1e-6)
        var marked = ""
        for token in text.split(separator: " ", omittingEmptySubsequences: false) {
            let bare = token.lowercased().trimmingCharacters(in: .punctuationCharacters.union(.symbols))
            if let c = weights[token.lowercased()] ?? weights[bare] {
                // Four strengths, as classes: the pages' policy allows no inline style.
                let strength = 1 + min(3, Int((3 * abs(c) / top).rounded()))
                marked += "<mark class=\"\(c >= 0 ? "for" : "against") m\(strength)\" title=\"\(c >= 0 ? "+" : "")\(String(format: "%.2f", c)) for \(HTMLText.escaped(label))\">\(HTMLText.escaped(String(token)))</mark> "
            } else {
                marked += HTMLText.escaped(String(token)) + " "
            }
        }
        let list = words.map { w in
            "<li>\(HTMLText.escaped(w.word)) <span class=\"\(w.contribution >= 0 ? "for" : "against")\">\(w.contribution >= 0 ? "+" : "−")\(String(format: "%.2f", abs(w.contribution))) \(w.contribution >= 0 ? "for" : "against")</span></li>"
        }.joined()
        return "<section class=\"why\" aria-label=\"Why\"><h3>Why \(HTMLText.escaped(label))</h3><p class=\"marked\">\(marked)</p><ol class=\"words\">\(list)</ol></section>"
    }

    static func tryForm(text: String, context: String, speaker: String) -> String {
        """
        <form method="post" action="/try" class="try">
        <label for="text">Turn</label><textarea id="text" name="text" rows="3" maxlength="5000" required>\(HTMLText.escaped(text))</textarea>
        <label for="speaker">Said by</label><select id="speaker" name="speaker">\
        <option value="customer"\(speaker == "customer" ? " selected" : "")>customer</option>\
        <option value="agent"\(speaker == "agent" ? " selected" : "")>agent</option></select>
        <label for="context">Earlier turns (optional, one per line, e.g. <code>agent: How can I help?</code>)</label>\
        <textarea id="context" name="context" rows="4">\(HTMLText.escaped(context))</textarea>
        <button type="submit">Analyze</button></form>
        """
    }

    static func result(_ e: EmotionEvent, text: String, earlier: ArraySlice<EmotionEvent>) -> String {
        var out = "<h2>Result</h2><dl class=\"result\" data-testid=\"result\">"
        out += "<dt>Emotion</dt><dd><span class=\"emo s-\(HTMLText.escaped(e.emotion.sector))\" data-testid=\"label\">\(e.emotion.label.rawValue)</span> \(percent(e.emotion.confidence)) (\(e.emotion.sector) sector)</dd>"
        out += "<dt>Neutral</dt><dd>\(percent(e.emotion.neutral))\(e.emotion.isNeutral ? ": treated as neutral" : "")</dd>"
        out += "<dt>Sarcasm</dt><dd>\(percent(e.sarcasm.probability))</dd><dt>Intensity</dt><dd>\(percent(e.intensity))</dd>"
        if let f = e.escalation {
            out += "<dt>Escalation risk</dt><dd>\(riskCell(f.risk))\(f.alert ? " <span class=\"badge alert\">⚠ alert</span>" : "")</dd>"
        }
        out += "</dl>" + radar(e.primaries)
        if let words = e.explanation?.words, !words.isEmpty {
            out += highlights(text: text, words: words, label: e.emotion.label.rawValue)
        } else {
            out += "<p>No word attributions (the turn has no words).</p>"
        }
        if !earlier.isEmpty {
            out += "<h3>Earlier turns</h3><ol class=\"earlier\">" + earlier.map { "<li>\(HTMLText.escaped($0.speaker)): \($0.emotion.label.rawValue) \(percent($0.emotion.confidence))</li>" }.joined() + "</ol>"
        }
        return out
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}
