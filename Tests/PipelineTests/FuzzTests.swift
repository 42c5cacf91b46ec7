import AuditStore
import Foundation
import Kafka
import Testing
@testable import Contracts
@testable import Emotion
@testable import Pipeline

@Suite("Bad input, poison turns and old backlogs (in-process)")
struct FuzzTests {
    @Test("20,000 records, every field, key, header and size mutated: the processor never stops, each offset ends as exactly one audit or one dead letter",
          .timeLimit(.minutes(5)))
    func fuzz() async throws {
        // The processor's producer refuses messages over 20 KB, so size limits are reached with
        // records small enough for the embedded broker (which keeps about 5 MiB per partition).
        let pipeline = try await InProcessPipeline<WideKeywordAnalyzer>(partitions: 8, processorProperties: ["message.max.bytes": "20000"])
        var rng = SeededGenerator(seed: faultSeed &+ 5)
        let records = makeFuzzRecords(count: 20_000, rng: &rng)
        let topic = pipeline.config.inputTopic
        let messages = records.map { KafkaProducerMessage(topic: topic, key: $0.key, value: $0.value, headers: $0.headers) }
        let reports = try await pipeline.producer.sendAll(messages)
        // The embedded broker silently drops a partition's oldest records past about 5 MiB.
        var bytesPerPartition: [Int32: Int] = [:]
        for (m, r) in zip(messages, reports) { bytesPerPartition[r.partition, default: 0] += m.approximateSize }
        try #require(bytesPerPartition.values.allSatisfy { $0 < 4 << 20 }, "fuzz input too large for the embedded broker: \(bytesPerPartition)")
        let rssBefore = selfRSSMB()
        let started = ContinuousClock.now
        try pipeline.start(WideKeywordAnalyzer())
        try await pipeline.waitForTurns(records.count, timeout: .seconds(240))
        let elapsed = ContinuousClock.now - started
        let rssAfter = selfRSSMB()
        #expect(pipeline.ended.value == nil, "the processor stopped: \(pipeline.ended.value ?? "")")
        try await pipeline.stop()
        let stats = await pipeline.processor.stats
        #expect(stats.turns == records.count)
        // A backlog: the finish stage coalesced batches (one publish, transaction and commit for several).
        #expect(stats.finishRounds < stats.batches, "\(stats.finishRounds) finish rounds for \(stats.batches) batches")

        let all = Set(eventIDs(reports, topic: topic))
        let audits = try auditCounts(databaseURL: pipeline.databaseURL, topic: topic)
        let dlq = try await readDeadLetters(bootstrap: pipeline.cluster.bootstrapServers, topic: pipeline.config.deadLetterTopic,
                                            atLeast: stats.deadLettered)
        let deadIDs = dlq.compactMap { r in
            r.header("plutchik.source.partition").flatMap { p in r.header("plutchik.source.offset").map { "\(topic)/\(p)/\($0)" } }
        }
        let dead = Set(deadIDs)
        let noted = try await pipeline.writer.query("SELECT count(*) FROM dead_letter_audit")[0][0]
        #expect(noted == "0", "\(noted ?? "?") records could not be dead-lettered even cut down")
        #expect(dlq.allSatisfy { $0.header("plutchik.error.code") != nil && $0.header("plutchik.error.reason") != nil })
        #expect(dlq.allSatisfy { KafkaProducerMessage(topic: "", key: $0.key, value: $0.value, headers: $0.headers).approximateSize <= 20_000 },
                "a dead letter over message.max.bytes")
        #expect(deadIDs.count == dead.count, "\(deadIDs.count - dead.count) offsets dead-lettered twice")
        #expect(audits.values.allSatisfy { $0 == 1 })
        #expect(Set(audits.keys).isDisjoint(with: dead), "records both audited and dead-lettered: \(Set(audits.keys).intersection(dead).prefix(5))")
        let unaccounted = all.subtracting(audits.keys).subtracting(dead)
        #expect(unaccounted.isEmpty, "\(unaccounted.count) records neither audited nor dead-lettered: \(unaccounted.prefix(5))")
        #expect(Set(audits.keys).union(dead) == all)
        #expect(audits.count >= 5_000 && dead.count >= 8_000, "\(audits.count) audited, \(dead.count) dead-lettered")
        #expect(rssAfter - rssBefore < 300, "RSS grew from \(rssBefore) to \(rssAfter) MB")
        let codes = Dictionary(grouping: dlq, by: { $0.header("plutchik.error.code") ?? "?" }).mapValues(\.count)
        for code in ["control_characters", "field_too_long", "text_too_long", "event_too_large", "invalid_field", "invalid_json",
                     "missing_field", "timestamp_out_of_range", "invalid_utf8", "empty"] {
            #expect(codes[code, default: 0] > 0, "no record dead-lettered as \(code): \(codes)")
        }
        print("fuzz: \(records.count) records in \(elapsed), \(audits.count) audited, \(dead.count) dead-lettered \(codes.sorted { $0.key < $1.key }); RSS \(Int(rssBefore)) → \(Int(rssAfter)) MB")
    }

    @Test("A poison turn goes to the DLQ alone after bounded attempts and never blocks its partition", .timeLimit(.minutes(1)))
    func poisonTurn() async throws {
        let pipeline = try await InProcessPipeline<PoisonAnalyzer>(partitions: 3) {
            $0.maxAttempts = 3
            $0.retryBackoff = .milliseconds(10)
            $0.maxBatchWait = .milliseconds(50)
        }
        let topic = pipeline.config.inputTopic
        var msgs: [KafkaProducerMessage] = []
        for turn in 1...5 {
            for d in 0..<20 {
                let text = d == 3 && turn == 3 ? "POISON" : (turn % 2 == 0 ? "I am furious" : "thanks")
                msgs.append(KafkaProducerMessage(topic: topic, key: "d\(d)",
                                                 value: #"{"dialogue_id":"d\#(d)","turn_id":\#(turn),"speaker":"c","text":"\#(text)"}"#))
            }
        }
        let reports = try await pipeline.producer.sendAll(msgs)
        let analyzer = PoisonAnalyzer()
        try pipeline.start(analyzer)
        try await pipeline.waitForTurns(msgs.count, timeout: .seconds(30))
        try await pipeline.stop()

        let stats = await pipeline.processor.stats
        #expect(stats.deadLettered == 1, "dead-lettered \(stats.deadLettered); only the poison turn should be")
        #expect(stats.events == msgs.count - 1)
        let dlq = try await readDeadLetters(bootstrap: pipeline.cluster.bootstrapServers, topic: pipeline.config.deadLetterTopic, atLeast: 1)
        #expect(dlq.count == 1)
        #expect(dlq.first.map { String(decoding: $0.value ?? [], as: UTF8.self).contains("POISON") } == true)
        #expect(dlq.first?.header("plutchik.error.code") == "processing_failed")
        // Everything else, including what follows the poison turn in its partition, was processed and committed.
        let ids = eventIDs(reports, topic: topic)
        let counts = try auditCounts(databaseURL: pipeline.databaseURL, topic: topic)
        #expect(counts.count == msgs.count - 1)
        #expect(try await pipeline.committedTotal(partitions: 3) == msgs.count)
        #expect(Set(ids).subtracting(counts.keys).count == 1)
        // Dialogue d3 carried on without the poison turn: 4 turns applied.
        let state = try await pipeline.writer.query("SELECT encode(state, 'hex') FROM dialogue_state WHERE dialogue_id = 'd3'")
        #expect(state.first?[0] == "0402", "d3's state \(state) should be 4 turns, 2 angry")
        // Bounded: maxAttempts for the batch, then a bisection, not an attempt per turn per retry.
        #expect(analyzer.poisonAttempts.value <= 3 + 2 * 7, "the poison turn was analyzed \(analyzer.poisonAttempts.value) times")
    }

    @Test("A backlog of turns older than the idle window keeps each dialogue's context across batches", .timeLimit(.minutes(1)))
    func oldBacklogKeepsContext() async throws {
        // Three days old, 10 s apart: within each dialogue the window never idles, but every turn
        // is older than the 30-minute idle window by the wall clock.
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 2) { $0.maxBatchSize = 4 }
        let base = Date().addingTimeInterval(-3 * 86_400)
        try await Self.expectContextKept(pipeline) { turn, d in base.addingTimeInterval(Double(turn * 10 + d)) }
    }

    /// With `recentRecords` 0 every such dialogue is evicted as idle after each batch and reloaded
    /// from `dialogue_state` when its next turn comes; with the default it stays live.
    @Test("A backfill whose dialogues are not in time order keeps each dialogue's context across batches", .timeLimit(.minutes(1)),
          arguments: [Int64(0), 1_000])
    func unorderedBackfillKeepsContext(recentRecords: Int64) async throws {
        // Ten dialogues a day apart, the newest first, interleaved turn by turn: each batch's newest
        // turn lies days past most dialogues' last, yet each dialogue's own turns are 10 s apart.
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 2) { $0.maxBatchSize = 4; $0.recentRecords = recentRecords }
        let base = Date().addingTimeInterval(-30 * 86_400)
        try await Self.expectContextKept(pipeline) { turn, d in base.addingTimeInterval(Double((9 - d) * 86_400 + turn * 10)) }
    }

    /// Runs ten dialogues of six "thanks" turns, interleaved turn by turn, turn `t` of dialogue `d`
    /// stamped `time(t, d)`, and expects every dialogue's state to hold all six.
    static func expectContextKept(_ pipeline: InProcessPipeline<KeywordAnalyzer>, time: (Int, Int) -> Date) async throws {
        var msgs: [KafkaProducerMessage] = []
        for turn in 1...6 {
            for d in 0..<10 {
                let ts = EmotionEvent.timestamp(time(turn, d))
                msgs.append(KafkaProducerMessage(topic: pipeline.config.inputTopic, key: "d\(d)",
                                                 value: #"{"dialogue_id":"d\#(d)","turn_id":\#(turn),"speaker":"c","text":"thanks","ts":"\#(ts)"}"#))
            }
        }
        let rows = try await statesAfterRunning(pipeline, msgs)
        #expect(rows.count == 10)
        let short = rows.filter { $0[1] != "0600" }
        #expect(short.isEmpty, "dialogues that lost context (state = turns, angry): \(short)")
    }

    /// Sends `msgs`, runs the pipeline with a KeywordAnalyzer until it has consumed them all, and
    /// returns `dialogue_state` as (dialogue_id, state hex) rows.
    static func statesAfterRunning(_ pipeline: InProcessPipeline<KeywordAnalyzer>, _ msgs: [KafkaProducerMessage]) async throws -> [[String?]] {
        _ = try await pipeline.producer.sendAll(msgs)
        try pipeline.start(KeywordAnalyzer())
        try await pipeline.waitForTurns(msgs.count, timeout: .seconds(30))
        try await pipeline.stop()
        return try await pipeline.writer.query("SELECT dialogue_id, encode(state, 'hex') FROM dialogue_state ORDER BY 1")
    }

    @Test("Dialogues evicted by the live-dialogue cap come back with their context", .timeLimit(.minutes(1)))
    func capEvictedDialoguesKeepContext() async throws {
        // 10 dialogues interleaved turn by turn, at most 3 in memory: every dialogue is evicted
        // between its turns and must be reloaded from dialogue_state each time.
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 2) { $0.maxBatchSize = 4; $0.maxLiveDialogues = 3 }
        let topic = pipeline.config.inputTopic
        var msgs: [KafkaProducerMessage] = []
        for turn in 1...6 {
            for d in 0..<10 {
                msgs.append(KafkaProducerMessage(topic: topic, key: "d\(d)",
                                                 value: #"{"dialogue_id":"d\#(d)","turn_id":\#(turn),"speaker":"c","text":"I am furious"}"#))
            }
        }
        let rows = try await Self.statesAfterRunning(pipeline, msgs)
        #expect(rows.count == 10)
        let short = rows.filter { $0[1] != "0606" }
        #expect(short.isEmpty, "dialogues that lost context (state = turns, angry): \(short)")
        // KeywordAnalyzer alerts on a dialogue's second furious turn: once per dialogue, not once per reload.
        #expect(await pipeline.processor.stats.alerts == 10)
    }
}

/// The KeywordAnalyzer, except that any batch holding a turn whose text is "POISON" throws.
struct PoisonAnalyzer: TurnAnalyzer {
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        var value: Int { lock.withLock { n } }
        func increment() { lock.withLock { n += 1 } }
    }
    struct Poisoned: Error {}
    let inner = KeywordAnalyzer()
    let poisonAttempts = Counter()
    var modelVersion: String { inner.modelVersion }
    func initialState() -> KeywordAnalyzer.State { inner.initialState() }
    func analyze(_ turns: [Pipeline.TimedTurn], states: inout [String: KeywordAnalyzer.State]) throws -> [TurnAnalysis] {
        if turns.contains(where: { $0.turn.text == "POISON" }) {
            poisonAttempts.increment()
            throw Poisoned()
        }
        return try inner.analyze(turns, states: &states)
    }
    func encode(_ state: KeywordAnalyzer.State) throws -> [UInt8] { try inner.encode(state) }
    func decode(_ bytes: [UInt8]) throws -> KeywordAnalyzer.State { try inner.decode(bytes) }
}

/// The KeywordAnalyzer with counts wider than a byte (fuzzed dialogues get hundreds of turns).
struct WideKeywordAnalyzer: TurnAnalyzer {
    let inner = KeywordAnalyzer()
    var modelVersion: String { inner.modelVersion }
    func initialState() -> KeywordAnalyzer.State { inner.initialState() }
    func analyze(_ turns: [Pipeline.TimedTurn], states: inout [String: KeywordAnalyzer.State]) throws -> [TurnAnalysis] {
        try inner.analyze(turns, states: &states)
    }
    func encode(_ s: KeywordAnalyzer.State) throws -> [UInt8] { Array("\(s.turns),\(s.angry)".utf8) }
    func decode(_ bytes: [UInt8]) throws -> KeywordAnalyzer.State {
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ",").compactMap { Int($0) }
        guard parts.count == 2 else { throw PoisonAnalyzer.Poisoned() }
        return KeywordAnalyzer.State(turns: parts[0], angry: parts[1])
    }
}

/// One input record: key, value, headers.
struct FuzzRecord {
    var key: [UInt8]?
    var value: [UInt8]
    var headers: [KafkaHeader] = []
}

/// `count` records: a quarter valid turns with every optional field, a third valid turns with one
/// to three fields mutated (removed, null, wrong type, NUL or control characters, oversized in
/// characters or bytes, out of range), the rest malformed in many ways; keys and headers mutated
/// independently (none, empty, binary, tens of kilobytes).
func makeFuzzRecords(count: Int, rng: inout SeededGenerator) -> [FuzzRecord] {
    func pick<T>(_ xs: [T], _ rng: inout SeededGenerator) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
    func js(_ s: String) -> String { String(decoding: try! JSONEncoder().encode(s), as: UTF8.self) }
    func bytes(_ n: Int, _ rng: inout SeededGenerator) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    let now = Date()
    let stringMutations: [(inout SeededGenerator) -> String] = [
        { _ in "null" }, { _ in "42" }, { _ in "[]" }, { _ in #"{"a":1}"# }, { _ in #""""# }, { _ in "true" },
        { _ in #""a\u0000b""# }, { _ in #""\u0000""# }, { _ in #""x\u001b[31m""# }, { _ in #""tab\tnew\nline""# }, { _ in #""\ud800""# },
        // Sizes: mostly around the 256-byte label limit, now and then past the text limits (kept
        // rare: the embedded broker keeps only about 5 MiB per partition).
        { r in js(String(repeating: "é", count: 100 + Int(r.next() % 400))) },
        { r in js(String(repeating: "a", count: Int(r.next() % 8 == 0 ? 5_000 + r.next() % 30_000 : 250 + r.next() % 10))) },
        { r in js("e" + String(repeating: "\u{301}", count: r.next() % 8 == 0 ? 5_000 + Int(r.next() % 8_000) : 100)) },
        { r in js(String(repeating: "😡", count: r.next() % 8 == 0 ? 4_000 + Int(r.next() % 2_000) : 60)) },
        { r in js(String(repeating: "\u{1}", count: r.next() % 8 == 0 ? 3_000 + Int(r.next() % 2_000) : 40)) },
        { _ in js("ok label") }, { _ in js(String(repeating: "t", count: 256)) },
    ]
    let fieldMutations: [String: [(inout SeededGenerator) -> String]] = [
        "turn_id": [{ _ in "-1" }, { _ in "1.5" }, { _ in "1e30" }, { _ in #""7""# }, { _ in "9223372036854775807" }, { _ in "0" }, { _ in "null" }],
        "ts": [{ _ in #""2999-01-01T00:00:00Z""# }, { _ in "-1" }, { _ in "9e18" }, { _ in #""2026-02-30T00:00:00Z""# },
               { _ in #""1999-12-31T23:59:59Z""# }, { _ in js(EmotionEvent.timestamp(now.addingTimeInterval(23 * 3600))) },
               { r in String(Int64(now.timeIntervalSince1970 * 1000) - Int64(r.next() % 86_400_000)) },
               { _ in js(EmotionEvent.timestamp(now.addingTimeInterval(25 * 3600))) }, { _ in #""yesterday""# }],
        "role": [{ _ in #""overlord""# }, { _ in #""agent""# }, { _ in "null" }, { _ in "7" }],
    ]
    let fields = ["dialogue_id", "turn_id", "speaker", "role", "text", "ts", "tenant", "scenario", "topic", "channel"]
    var out: [FuzzRecord] = []
    var validSeen: [[UInt8]] = []
    for i in 0..<count {
        let d = Int(rng.next() % 400)
        var obj: [(String, String)] = [
            ("dialogue_id", js("f\(d)")), ("turn_id", String(i)), ("speaker", js(pick(["customer", "agent"], &rng))),
            ("role", js(pick(["customer", "agent", "bot", "other"], &rng))), ("text", js(pick(["thanks, that helps", "I am furious", "where is my order?"], &rng))),
            ("ts", js(EmotionEvent.timestamp(now.addingTimeInterval(-Double(rng.next() % 3_600))))),
            ("tenant", js("acme")), ("scenario", js("billing")), ("topic", js("refund")), ("channel", js("chat")),
        ]
        let roll = rng.next() % 100
        var value: [UInt8]
        if roll < 25 {
            value = Array(("{" + obj.map { "\(js($0.0)):\($0.1)" }.joined(separator: ",") + "}").utf8)
            validSeen.append(value)
        } else if roll < 60 {
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let f = pick(fields, &rng)
                guard let at = obj.firstIndex(where: { $0.0 == f }) else { continue }
                if rng.next() % 8 == 0 { obj.remove(at: at); continue }
                obj[at].1 = pick(fieldMutations[f] ?? stringMutations, &rng)(&rng)
            }
            value = Array(("{" + obj.map { "\(js($0.0)):\($0.1)" }.joined(separator: ",") + "}").utf8)
        } else {
            value = malformedRecord(i, validSeen: validSeen, rng: &rng)
        }
        var r = FuzzRecord(key: Array("f\(d)".utf8), value: value)
        switch rng.next() % 100 {
        case 0..<5: r.key = nil
        case 5..<9: r.key = []
        case 9..<13: r.key = bytes(1 + Int(rng.next() % 64), &rng)
        case 13 where rng.next() % 4 == 0: r.key = bytes(1_000 + Int(rng.next() % 30_000), &rng)
        default: break
        }
        switch rng.next() % 100 {
        case 0..<8: r.headers = (0..<(1 + Int(rng.next() % 5))).map { KafkaHeader(key: "h\($0)", string: "v\($0)") }
        case 8..<12: r.headers = [KafkaHeader(key: String(decoding: bytes(8, &rng), as: UTF8.self), value: bytes(Int(rng.next() % 100), &rng)),
                                  KafkaHeader(key: "plutchik.error.code", value: nil)]
        case 12 where rng.next() % 4 == 0: r.headers = [KafkaHeader(key: "big", value: bytes(1_000 + Int(rng.next() % 25_000), &rng))]
        default: break
        }
        out.append(r)
    }
    return out
}

/// One malformed record of many kinds (for ``makeFuzzRecords(count:rng:)``).
func malformedRecord(_ i: Int, validSeen: [[UInt8]], rng: inout SeededGenerator) -> [UInt8] {
    func turn(_ d: Int, _ t: Int, text: String = "thanks, that helps", extra: String = "") -> [UInt8] {
        Array(#"{"dialogue_id":"f\#(d)","turn_id":\#(t),"speaker":"c","text":"\#(text)"\#(extra)}"#.utf8)
    }
    do {
        let kind = Int(rng.next() % (validSeen.isEmpty ? 6 : 12))
        var v: [UInt8]
        switch kind {
        case 0:  // random bytes, sometimes none at all
            v = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 1:  // truncated JSON
            let full = turn(Int(rng.next() % 300), 1)
            v = Array(full.prefix(Int(rng.next() % UInt64(full.count - 1))))
        case 2:  // wrong types
            let variants = [
                #"{"dialogue_id":"x","turn_id":"one","speaker":"c","text":"hi"}"#,
                #"{"dialogue_id":7,"turn_id":1,"speaker":"c","text":"hi"}"#,
                #"{"dialogue_id":"x","turn_id":1,"speaker":null,"text":"hi"}"#,
                #"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":["hi"]}"#,
                #"{"dialogue_id":{"a":1},"turn_id":1.5,"speaker":"c","text":"hi"}"#,
                #"{"dialogue_id":"x","turn_id":1e400,"speaker":"c","text":"hi"}"#,
                #"{"dialogue_id":"x","turn_id":-99999999999999999999,"speaker":"c","text":"hi"}"#,
                #"["dialogue_id","x"]"#, "null", "42", #""a string""#, "{}",
            ]
            v = Array(variants[Int(rng.next() % UInt64(variants.count))].utf8)
        case 3:  // giant text (kept rare: the mock broker holds ~5 MiB per partition)
            let n = i % 10 == 0 ? 5_001 + Int(rng.next() % 60_000) : 5_001 + Int(rng.next() % 200)
            v = turn(1, 1, text: String(repeating: "a", count: n))
        case 4:  // invalid UTF-8 inside a string, or an overlong / surrogate sequence
            let bad: [[UInt8]] = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF8, 0x88, 0x80, 0x80, 0x80]]
            v = Array(#"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"ab"#.utf8) + bad[Int(rng.next() % 5)] + Array(#""}"#.utf8)
        case 5:  // control characters: escaped in ids, raw in strings, NUL in text
            let variants = [
                #"{"dialogue_id":"x\u0001","turn_id":1,"speaker":"c","text":"hi"}"#,
                "{\"dialogue_id\":\"x\u{7}\",\"turn_id\":1,\"speaker\":\"c\",\"text\":\"hi\"}",
                #"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"a\u0000b"}"#,
                #"{"dialogue_id":"x","turn_id":1,"speaker":"c\u001b[31m","text":"hi"}"#,
                #"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"lone \ud800 surrogate"}"#,
            ]
            v = Array(variants[Int(rng.next() % UInt64(variants.count))].utf8)
        case 6:  // a duplicated turn id (valid: processed again under a new offset)
            v = validSeen[Int(rng.next() % UInt64(validSeen.count))]
        case 7:  // timestamps far past, far future, or nonsense
            let ts = [#""1970-01-01T00:00:00Z""#, "0", #""0001-01-01T00:00:00Z""#, #""2999-12-31T23:59:59Z""#,
                      "99999999999999", "-5", #""yesterday""#, #""2026-13-45T99:99:99Z""#, "1e300"]
            v = turn(2, 1, extra: #","ts":\#(ts[Int(rng.next() % UInt64(ts.count))])"#)
        case 8:  // deep nesting
            let depth = 600 + Int(rng.next() % 3_000)
            v = Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
        case 9:  // missing or empty required fields, over-long ids
            let variants = [
                #"{"turn_id":1,"speaker":"c","text":"hi"}"#, #"{"dialogue_id":"","turn_id":1,"speaker":"c","text":"hi"}"#,
                #"{"dialogue_id":"\#(String(repeating: "d", count: 5000))","turn_id":1,"speaker":"c","text":"hi"}"#,
                #"{"dialogue_id":"x","turn_id":1,"speaker":"c","text":"hi","role":"overlord"}"#,
            ]
            v = Array(variants[Int(rng.next() % UInt64(variants.count))].utf8)
        case 10:  // valid JSON with junk after it, or a BOM before it
            v = rng.next() % 2 == 0 ? turn(3, 1) + Array(" trailing".utf8) : [0xEF, 0xBB, 0xBF] + turn(3, 1)
        default:  // random bytes spliced into a valid turn
            v = turn(4, 1)
            for _ in 0..<3 { v[Int(rng.next() % UInt64(v.count))] = UInt8(truncatingIfNeeded: rng.next()) }
        }
        return v
    }
}
