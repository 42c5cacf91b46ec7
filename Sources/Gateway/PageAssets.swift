/// The web view's script and style sheet, served from `/static/`: no CDN, no build step.
enum PageAssets {
    /// Refreshes a live page's `#live` region when `/events` says the dialogues changed, keeping
    /// the keyboard focus where it was; a form control in use is never pulled from under the user.
    static let script = """
        (function () {
          var live = document.getElementById('live');
          if (!live || document.body.dataset.live !== '1' || !window.EventSource) return;
          var busy = false, again = false;
          function refresh() {
            var a = document.activeElement;
            if (a && live.contains(a) && /^(SELECT|INPUT|TEXTAREA)$/.test(a.tagName)) return;
            if (busy) { again = true; return; }
            busy = true;
            var u = new URL(location.href);
            u.searchParams.set('fragment', '1');
            fetch(u, { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
              if (html === null) return;
              var key = a && live.contains(a) ? a.getAttribute('href') : null;
              live.innerHTML = html;
              if (key) { var el = live.querySelector('[href="' + CSS.escape(key) + '"]'); if (el) el.focus(); }
              document.body.dataset.refreshed = String(Date.now());
            }).catch(function () {}).finally(function () {
              busy = false;
              if (again) { again = false; refresh(); }
            });
          }
          new EventSource('/events').addEventListener('update', refresh);
        })();
        """

    static let style = """
        :root { --fg: #1d232b; --muted: #5b6470; --bg: #fff; --line: #d5dae0; --accent: #1f5fbf; --alert: #b3261e; --ok: #2e7d32; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px; }
        header { border-bottom: 1px solid var(--line); padding: 8px 16px; } nav a { margin-left: 12px; }
        .who { float: right; color: var(--muted); } form.logout { display: inline; } form.logout button { padding: 0 8px; }
        main { padding: 8px 16px 32px; max-width: 1280px; margin: 0 auto; }
        h1 { font-size: 1.4rem; margin: 8px 0; } h2 { font-size: 1.1rem; margin: 16px 0 6px; }
        a { color: var(--accent); } a:focus, button:focus, select:focus, textarea:focus, input:focus { outline: 3px solid #f0b400; outline-offset: 1px; }
        table { border-collapse: collapse; width: 100%; } caption { text-align: left; color: var(--muted); padding: 4px 0; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        #live { overflow-x: auto; }
        tr.selected { background: #eef3fb; } tr.alerted td:first-child { border-left: 4px solid var(--alert); }
        td.text { max-width: 36em; }
        .badge { display: inline-block; padding: 0 6px; border: 1px solid var(--line); border-radius: 8px; font-size: .85em; }
        .badge.alert { color: #fff; background: var(--alert); border-color: var(--alert); font-weight: 600; }
        .risk { display: inline-block; position: relative; min-width: 7.5em; }
        .risk .bar { position: absolute; left: 0; bottom: 0; height: 3px; background: var(--muted); }
        .r-high .bar { background: var(--alert); } .r-medium .bar { background: #c77700; } .r-low .bar { background: var(--ok); }
        .emo { font-weight: 600; }
        .split { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 16px; }
        @media (max-width: 800px) { .split { grid-template-columns: 1fr; } td.text { min-width: 12em; } .who { float: none; display: block; } }
        svg { width: 100%; height: auto; } svg text { font-size: 11px; fill: var(--fg); }
        .trajectory { max-width: 960px; } .radar { max-width: 280px; }
        .grid { fill: none; stroke: var(--line); } .axis { stroke: var(--line); }
        .shape { fill: rgba(31, 95, 191, .25); stroke: var(--accent); stroke-width: 2; }
        .intensity { fill: none; stroke: var(--accent); stroke-width: 2; }
        .risk-line { fill: none; stroke: var(--alert); stroke-width: 2; stroke-dasharray: 6 4; }
        .pt { fill: var(--alert); } .alert-mark path { fill: var(--alert); } .alert-mark text { fill: var(--alert); font-weight: 700; }
        .tick { fill: var(--muted); }
        .key { margin-right: 12px; } .key.intensity { color: var(--accent); } .key.risk-line, .key.alert { color: var(--alert); }
        mark { border-bottom: 2px solid var(--accent); } mark.against { border-bottom: 2px dotted var(--alert); }
        .for { color: var(--ok); } .against { color: var(--alert); }
        form.try, form.login { display: grid; gap: 6px; max-width: 640px; }
        textarea, select, input, button { font: inherit; padding: 6px; }
        button { width: max-content; padding: 6px 16px; }
        .problem { color: var(--alert); font-weight: 600; }
        dl.result { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; }
        dl.result dt { color: var(--muted); } dl.result dd { margin: 0; }
        figure { margin: 8px 0; } figcaption { color: var(--muted); font-size: .9em; }
        .radar-fig { max-width: 440px; } ol.primaries { columns: 2; margin: 4px 0; padding-left: 1.4em; }
        """ + sizes

    /// The risk bar's widths in steps of 5 % (`w0`…`w20`) and the marked words' four strengths
    /// (`m1`…`m4`): classes, since the pages' Content-Security-Policy allows no inline style.
    static let sizes = (0...20).map { ".risk .bar.w\($0) { width: \($0 * 5)%; }" }.joined(separator: " ") + "\n" +
        (1...4).map { m in
            let w = 0.25 * Double(m)
            return "mark.for.m\(m) { background: rgba(31, 95, 191, \(w * 0.45)); } mark.against.m\(m) { background: rgba(179, 38, 30, \(w * 0.3)); }"
        }.joined(separator: " ") + "\n"
}
