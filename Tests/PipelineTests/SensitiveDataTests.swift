import AuditStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// #41's goal: no text of a turn with a card number appears anywhere outside the process. Turns
/// holding cards (spaced and dashed), an IBAN and an e-mail address, one with a card in its caller
/// attributes and one invalid record go through `plutchik run` (the real model, the embedded
/// broker, PostgreSQL, the HTTP gateway); then every output is read back and searched: the
/// events, alerts and dead-letter topics (keys, headers, values), every row of every table and
/// view, the live pages and their event stream, `/v1/analyze` and `/try` answers for the same
/// texts, `/metrics`, and all the process wrote to stdout and stderr, at trace level.
/// Not searched: trace spans (OTLP, not exported here; they carry ids and figures), and the input
/// topic, which holds the originals (the operator's to protect).
@Suite("No sensitive data leaves the process (#41)")
struct SensitiveDataTests {
    static let cards = ["4929 7364 5182 0350", "5312-6043-8871-2201"]
    static let iban = "DE89 3704 0044 0532 0130 00", email = "mirela.vasquez77@example.org"
    static let key = "acme-key-0123456789abcdefghij", viewer = "viewer-key-0123456789abcdefghij"

    /// What must appear nowhere: each card's digits alone, in groups of four with spaces and with
    /// dashes, and its middle eight digits; the IBAN compact and spaced; the e-mail and its local part.
    static var needles: [String] {
        cards.flatMap { card -> [String] in
            let digits = card.filter(\.isNumber), spaced = card.replacingOccurrences(of: "-", with: " ")
            return [digits, spaced, spaced.replacingOccurrences(of: " ", with: "-"), String(digits.dropFirst(4).prefix(8))]
        } + [iban, iban.replacingOccurrences(of: " ", with: ""), email, String(email.prefix { $0 != "@" })]
    }

    static func turn(_ dialogue: String, _ id: Int, _ text: String, extra: String = "") -> GeneratedTurn {
        GeneratedTurn(dialogueID: dialogue, turnID: id, json: #"{"dialogue_id":"\#(dialogue)","turn_id":\#(id),"speaker":"c","role":"customer","tenant":"acme","text":"\#(text)"\#(extra)}"#)
    }

    static let turns = [
        turn("pii-card", 1, "my card is \(cards[0]), charge it again and I am furious"),
        turn("pii-card", 2, "no wait, use \(cards[1]) instead"),
        turn("pii-bank", 1, "refund it to IBAN \(iban) and mail me at \(email)"),
        turn("pii-attr", 1, "please note it on my account",
             extra: #","crm":{"notes":["card read out: \#(cards[0])"]},"card_on_file":\#(cards[1].filter(\.isNumber)),"callback":"\#(email)""#),
    ]
    /// Invalid (no such role): a dead letter.
    static let invalid = GeneratedTurn(dialogueID: "pii-bad", turnID: 1,
                                       json: #"{"dialogue_id":"pii-bad","turn_id":1,"speaker":"c","role":"boss","text":"my card is \#(cards[0])"}"#)

    @Test("cards, an IBAN and an e-mail, in texts, attributes and a dead letter, reach no topic, table, page, answer or log line",
          .timeLimit(.minutes(5)))
    func nothingLeaves() async throws {
        let dir = try makeScratchDirectory("plutchik-pii")
        defer { try? FileManager.default.removeItem(at: dir) }
        let topics = PipelineTopics("pii")
        let broker = try await BrokerChild(topics: topics.all, partitions: 2, directory: dir)
        defer { broker.child.stop() }
        let db = try await freshDatabase()
        // Each dialogue's first turn raises an alert; every event is explained (--explain).
        let config = dir.appendingPathComponent("plutchik.conf")
        try "tenant.acme.alert_upper=0.0001\ntenant.acme.alert_lower=0\n".write(to: config, atomically: true, encoding: .utf8)
        let httpPort = try Self.freePort(), metricsPort = try Self.freePort()
        let p = try startProcessor(name: "run", bootstrap: broker.bootstrap, databaseURL: db, group: "pii", topics: topics, directory: dir,
                                   extra: ["--config", config.path, "--explain", "--http-port", "\(httpPort)", "--http-host", "127.0.0.1",
                                           "--metrics-port", "\(metricsPort)", "--log-level", "trace"],
                                   environment: ["PLUTCHIK_API_KEYS": "acme=\(Self.key),*=\(Self.viewer)"])
        defer { p.stop() }
        func http(_ path: String, port: Int? = nil, key: String = Self.viewer, method: String = "GET", body: String? = nil,
                 type: String = "application/json") async throws -> (status: Int, body: String) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port ?? httpPort)\(path)")!)
            request.httpMethod = method
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            if let body {
                request.httpBody = Data(body.utf8)
                request.setValue(type, forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
        try await waitUntil("the gateway of plutchik run to answer (log: \(p.logTail()))", timeout: .seconds(150), interval: .milliseconds(500)) {
            guard p.isRunning else { throw HarnessError("plutchik run exited: \(p.logTail())") }
            return (try? await http("/healthz").status) == 200
        }
        let updates = try EventStreamCapture(port: httpPort, key: Self.viewer)
        try await produceTurns(Self.turns + [Self.invalid], bootstrap: broker.bootstrap, topic: topics.input)
        let connection = try PostgresConnection(url: db)
        try await waitUntil("4 audits (log: \(p.logTail()))", timeout: .seconds(120), interval: .milliseconds(300)) {
            guard p.isRunning else { throw HarnessError("plutchik run exited: \(p.logTail())") }
            return try auditTotal(connection, topic: topics.input) >= Self.turns.count
        }

        // Everything that left the process, by where it went.
        var outputs: [(place: String, text: String)] = []
        func record(_ r: KafkaRecord) -> String {
            ([String(decoding: r.key ?? [], as: UTF8.self)] + r.headers.map { "\($0.key)=\(String(decoding: $0.value ?? [], as: UTF8.self))" }
             + [String(decoding: r.value ?? [], as: UTF8.self)]).joined(separator: "\n")
        }
        let events = try await readDeadLetters(bootstrap: broker.bootstrap, topic: topics.events, atLeast: Self.turns.count, timeout: .seconds(30))
        let alerts = try await readDeadLetters(bootstrap: broker.bootstrap, topic: topics.alerts, atLeast: 3, timeout: .seconds(30))
        let deadLetters = try await readDeadLetters(bootstrap: broker.bootstrap, topic: topics.dlq, atLeast: 1, timeout: .seconds(30))
        outputs += events.map { ("events topic", record($0)) } + alerts.map { ("alerts topic", record($0)) }
            + deadLetters.map { ("dead-letter topic", record($0)) }
        for relation in try connection.query("""
            SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
            WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
            """).compactMap({ $0[0] }) {
            outputs += try connection.query("SELECT t::text FROM \(relation) t").map { ("table \(relation)", $0[0] ?? "") }
        }
        var pages = ["/", "/?fragment=1"]
        for (dialogue, count) in [("pii-card", 2), ("pii-bank", 1), ("pii-attr", 1)] {
            pages += ["/dialogues/acme/\(dialogue)"] + (1...count).flatMap { ["/dialogues/acme/\(dialogue)?turn=\($0)", "/dialogues/acme/\(dialogue)?turn=\($0)&explain=1"] }
        }
        for page in pages {
            let (status, body) = try await http(page)
            #expect(status == 200, "\(page): \(status)")
            outputs.append(("page \(page)", body))
        }
        for dialogue in ["pii-card", "pii-bank", "pii-attr"] {
            let body = #"{"turns":[\#(Self.turns.filter { $0.dialogueID == dialogue }.map(\.json).joined(separator: ","))]}"#
            let (status, answer) = try await http("/v1/analyze?explain=true", key: Self.key, method: "POST", body: body)
            #expect(status == 200 && answer.contains(#""redactions""#), "\(status): \(answer)")
            outputs.append(("POST /v1/analyze \(dialogue)", answer))
        }
        let form = ["text": "my card is \(Self.cards[0]), charge it again", "context": "customer: refund it to IBAN \(Self.iban) and mail me at \(Self.email)"]
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&")
        let tried = try await http("/try", key: Self.key, method: "POST", body: form, type: "application/x-www-form-urlencoded")
        #expect(tried.status == 200 && tried.body.contains("[CARD]"), "\(tried)")
        outputs.append(("POST /try", tried.body))
        let linked = try await http("/try?" + form, key: Self.key)
        #expect(linked.status == 200 && linked.body.contains("[IBAN]"), "\(linked)")
        outputs.append(("GET /try", linked.body))
        let metrics = try await http("/metrics", port: metricsPort)
        outputs.append(("/metrics", metrics.body))
        outputs.append(("/events", updates.received()))
        p.signal(SIGTERM)
        #expect(try await p.waitForExit(timeout: .seconds(30)) == 0)
        outputs.append(("log", p.log))

        // Nothing of the sensitive values anywhere.
        for (place, text) in outputs {
            for needle in Self.needles where text.contains(needle) {
                Issue.record("'\(needle)' left the process in the \(place): \(text.prefix(600))")
            }
        }
        // And the search saw what it should have: every output, redacted where the values were.
        #expect(events.count == Self.turns.count && alerts.count == 3 && deadLetters.count == 1)
        #expect(deadLetters.first?.header("plutchik.redacted") == "card=1")
        let attributes = events.compactMap { try? JSONSerialization.jsonObject(with: Data($0.value ?? [])) as? [String: Any] }
            .first { $0["dialogue_id"] as? String == "pii-attr" }
        #expect(attributes?["redactions"] as? [String: Int] == ["card": 2, "email": 1])
        #expect(attributes?["attributes"] as? NSDictionary == NSDictionary(dictionary: [
            "crm": ["notes": ["card read out: [CARD]"]], "card_on_file": "[CARD]", "callback": "[EMAIL]"]))
        let stored = outputs.filter { $0.place.hasPrefix("table ") }.map(\.text).joined(separator: "\n")
        #expect(["[CARD]", "[IBAN]", "[EMAIL]"].allSatisfy(stored.contains))
        #expect(outputs.contains { $0.place == "page /dialogues/acme/pii-card" && $0.text.contains("[CARD]") })
        #expect(outputs.contains { $0.place == "/events" && $0.text.contains("event: update") })
        #expect(metrics.body.contains(#"plutchik_redactions_total{entity="card"}"#), "\(metrics.body.prefix(400))")
        #expect(p.log.contains("batch analyzed"), "the log holds no trace lines")
    }

    /// A loopback port free just now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The gateway's `/events` stream, opened now and read at the end: what the server sends
/// meanwhile waits in the socket.
final class EventStreamCapture {
    private let fd: Int32

    init(port: Int, key: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(fd)
            throw HarnessError("cannot connect to 127.0.0.1:\(port)")
        }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = "GET /events HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\nAuthorization: Bearer \(key)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    deinit { close(fd) }

    /// All received so far: reads until a second passes without data.
    func received() -> String {
        var out: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return String(decoding: out, as: UTF8.self) }
            out += chunk[..<n]
        }
    }
}
