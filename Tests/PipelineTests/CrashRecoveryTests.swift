import AuditStore
import Foundation
import Kafka
import Testing
import Contracts
@testable import Emotion
@testable import Pipeline

/// The turn times of the generated dialogues: one base per test process, so runs that share an
/// input (and the cached reference run) see identical bytes. An hour in the past, so these tests
/// also cover a backlog older than the idle window.
let faultTestBase = Date(timeIntervalSinceNow: -3600)

/// The seed of the kill schedule and the generated dialogues (override with PLUTCHIK_FAULT_SEED).
let faultSeed: UInt64 = ProcessInfo.processInfo.environment["PLUTCHIK_FAULT_SEED"].flatMap { UInt64($0) } ?? 20_260_707

/// The shared input of the kill -9 and two-instance tests: 200 dialogues × 10 turns.
let faultInput = generateDialogues(dialogues: 200, turns: 10, seed: faultSeed, base: faultTestBase)

/// What the kill -9 and two-instance tests start from: a `plutchik broker` child with the topics,
/// a fresh database, `faultInput` produced to the input topic, and the same input's run without
/// faults (a fresh broker, group and database) started alongside. Call `finish()` when done.
struct FaultRun {
    let dir: URL
    let topics: PipelineTopics
    let broker: BrokerChild
    let db: String
    let turns = faultInput
    /// The input records' event ids, in produce order.
    let ids: [String]
    let reference: Task<RunResults, any Error>

    init(_ name: String) async throws {
        dir = try makeScratchDirectory("plutchik-\(name)")
        topics = PipelineTopics(name)
        broker = try await BrokerChild(topics: topics.all, partitions: 6, directory: dir)
        db = try await freshDatabase()
        let turns = faultInput
        reference = Task { try await ReferenceRuns.shared.results(for: turns, key: "seed-\(faultSeed)") }
        ids = eventIDs(try await produceTurns(turns, bootstrap: broker.bootstrap, topic: topics.input), topic: topics.input)
    }

    /// Stops the broker and removes the scratch directory (after the test's processors have stopped).
    func finish() {
        broker.child.stop()
        try? FileManager.default.removeItem(at: dir)
    }
}

/// Tests that run `plutchik broker` and `plutchik run` as child processes with the real model.
/// Serialized: they are CPU-bound, and the machine has few cores.
@Suite("Fault tolerance with child processes", .serialized)
struct ProcessFaultTests {
    @Test("kill -9 at random points: every offset audited once, events consistent, results equal a run without crashes",
          .timeLimit(.minutes(5)))
    func killNine() async throws {
        let started = ContinuousClock.now
        let run = try await FaultRun("crash")
        defer { run.finish() }
        let (dir, topics, broker, db, turns, ids, reference) = (run.dir, run.topics, run.broker, run.db, run.turns, run.ids, run.reference)
        #expect(Set(ids).count == turns.count)

        var rng = SeededGenerator(seed: faultSeed ^ 0x9E37)
        let kills = 6
        let conn = try PostgresConnection(url: db)
        var p = try startProcessor(name: "crash-0", bootstrap: broker.bootstrap, databaseURL: db, group: "crash", topics: topics, directory: dir)
        var children = [p]
        defer { children.forEach { $0.stop() } }
        var killedAt: [Int] = []
        for i in 0..<kills {
            // Kill after a seeded amount of progress, plus a seeded delay that lands anywhere in
            // the batch cycle (analyze, publish, audit, commit).
            let done = try auditTotal(conn, topic: topics.input)
            let remaining = turns.count - done
            let target = done + 40 + Int(rng.next() % UInt64(max(1, remaining / (kills - i + 1))))
            let current = p
            try await waitUntil("crash run \(i) to reach \(target) audits (log: \(current.logTail()))", timeout: .seconds(90)) {
                guard current.isRunning else { throw HarnessError("processor exited on its own: \(current.logTail())") }
                return try auditTotal(conn, topic: topics.input) >= target
            }
            try await Task.sleep(for: .milliseconds(Int(rng.next() % 400)))
            current.signal(SIGKILL)
            try await current.waitForExit(timeout: .seconds(10))
            killedAt.append(try auditTotal(conn, topic: topics.input))
            p = try startProcessor(name: "crash-\(i + 1)", bootstrap: broker.bootstrap, databaseURL: db, group: "crash",
                                   topics: topics, directory: dir)
            children.append(p)
        }
        let last = p
        try await waitUntil("the last instance to audit all \(turns.count) turns (log: \(last.logTail()))", timeout: .seconds(120),
                            interval: .milliseconds(300)) {
            guard last.isRunning else { throw HarnessError("processor exited on its own: \(last.logTail())") }
            return try auditTotal(conn, topic: topics.input) >= turns.count
        }
        // The last kill may land after the final audit; the restarted instance must be up (its
        // signal handlers installed) before the graceful stop is tested.
        try await waitUntil("the last instance to join (log: \(last.logTail()))", timeout: .seconds(60)) {
            last.log.contains("kafka partitions assigned")
        }
        last.signal(SIGTERM)
        let status = try await last.waitForExit(timeout: .seconds(30))
        #expect(status == 0, "plutchik run exited with \(status) after SIGTERM: \(last.logTail())")
        #expect(killedAt.count == kills)

        // Every input offset has exactly one audit row.
        let counts = try auditCounts(databaseURL: db, topic: topics.input)
        let missing = ids.filter { counts[$0] == nil }
        let duplicated = counts.filter { $0.value != 1 }
        #expect(missing.isEmpty, "offsets without an audit row: \(missing.prefix(10))")
        #expect(duplicated.isEmpty, "offsets with more than one audit row: \(duplicated.prefix(10))")
        #expect(counts.count == ids.count)

        // At least one event per offset; an event published twice has the same content (bar processed_at).
        let events = try await readEvents(bootstrap: broker.bootstrap, topic: topics.events, expected: Set(ids))
        let byID = Dictionary(grouping: events, by: \.id)
        let withoutEvent = ids.filter { byID[$0] == nil }
        #expect(withoutEvent.isEmpty, "offsets without an event: \(withoutEvent.prefix(10))")
        var replayed = 0, recomputed = 0, inconsistent: [String] = []
        for (id, copies) in byID where copies.count > 1 {
            let canonical = Set(copies.map { canonicalEvent($0.json) })
            if canonical.count > 1 { inconsistent.append(id) }
            if Set(copies.map { "\($0.json["processed_at"] ?? "")" }).count == 1 { replayed += 1 } else { recomputed += 1 }
        }
        #expect(inconsistent.isEmpty, "events published twice with different content: \(inconsistent.prefix(5))")

        // The per-turn risks and the final dialogue state equal those of the run without crashes.
        let crashed = try await loadResults(databaseURL: db, topic: topics.input)
        let ref = try await reference.value
        #expect(ref.auditCount == turns.count)
        let diff = differences(crashed, ref)
        #expect(diff.isEmpty, "results differ from the run without crashes: \(diff)")
        print("kill -9: \(kills) kills at audit counts \(killedAt); \(events.count) events for \(ids.count) offsets; "
            + "duplicates: \(replayed) re-published from audits, \(recomputed) recomputed; \(ContinuousClock.now - started)")
    }

    @Test("Two instances in one group: a second joins mid-stream, the first stops; nothing lost, context kept",
          .timeLimit(.minutes(5)))
    func twoInstances() async throws {
        let started = ContinuousClock.now
        let run = try await FaultRun("pair")
        defer { run.finish() }
        let (dir, topics, broker, db, turns, ids, reference) = (run.dir, run.topics, run.broker, run.db, run.turns, run.ids, run.reference)
        let conn = try PostgresConnection(url: db)

        let a = try startProcessor(name: "first", bootstrap: broker.bootstrap, databaseURL: db, group: "pair", topics: topics, directory: dir)
        defer { a.stop() }
        try await waitUntil("the first instance to audit 300 turns (log: \(a.logTail()))", timeout: .seconds(90)) {
            guard a.isRunning else { throw HarnessError("first instance exited: \(a.logTail())") }
            return try auditTotal(conn, topic: topics.input) >= 300
        }
        let b = try startProcessor(name: "second", bootstrap: broker.bootstrap, databaseURL: db, group: "pair", topics: topics, directory: dir)
        defer { b.stop() }
        // The second instance gets partitions (cooperative-sticky moves some of the first's).
        try await waitUntil("the second instance to be assigned partitions (log: \(b.logTail()))", timeout: .seconds(60)) {
            guard b.isRunning else { throw HarnessError("second instance exited: \(b.logTail())") }
            return b.log.contains("dialogue state loaded")
        }
        let atJoin = try auditTotal(conn, topic: topics.input)
        try await waitUntil("both instances to make progress", timeout: .seconds(60)) {
            try auditTotal(conn, topic: topics.input) >= min(turns.count - 200, atJoin + 300)
        }
        a.signal(SIGTERM)
        let statusA = try await a.waitForExit(timeout: .seconds(60))
        #expect(statusA == 0, "the first instance exited with \(statusA) after SIGTERM: \(a.logTail())")
        try await waitUntil("the second instance to audit all \(turns.count) turns (log: \(b.logTail()))", timeout: .seconds(120),
                            interval: .milliseconds(300)) {
            guard b.isRunning else { throw HarnessError("second instance exited: \(b.logTail())") }
            return try auditTotal(conn, topic: topics.input) >= turns.count
        }
        b.signal(SIGTERM)
        let statusB = try await b.waitForExit(timeout: .seconds(60))
        #expect(statusB == 0, "the second instance exited with \(statusB): \(b.logTail())")

        // Both did work, and the second loaded the moved dialogues' state when it took them over.
        let turnsA = stoppedTurns(a.log), turnsB = stoppedTurns(b.log)
        #expect(turnsA > 0 && turnsB > 0, "turns processed: first \(turnsA), second \(turnsB)")
        let loaded = loadedDialogueCounts(b.log)
        #expect(loaded.contains { $0 > 0 }, "the second instance loaded no dialogue state on assignment: \(loaded)")

        let counts = try auditCounts(databaseURL: db, topic: topics.input)
        #expect(ids.filter { counts[$0] == nil }.isEmpty, "offsets without an audit row")
        #expect(counts.filter { $0.value != 1 }.isEmpty, "offsets with more than one audit row")
        let events = try await readEvents(bootstrap: broker.bootstrap, topic: topics.events, expected: Set(ids))
        let seen = Set(events.map(\.id))
        #expect(ids.filter { !seen.contains($0) }.isEmpty, "offsets without an event")
        let byID = Dictionary(grouping: events, by: \.id)
        #expect(byID.values.filter { Set($0.map { canonicalEvent($0.json) }).count > 1 }.isEmpty, "an event published twice differs")

        let ref = try await reference.value
        let diff = differences(try await loadResults(databaseURL: db, topic: topics.input), ref)
        #expect(diff.isEmpty, "results differ from a single-instance run: \(diff)")
        print("two instances: first \(turnsA) turns, second \(turnsB) turns, states loaded on assignment \(loaded); "
            + "\(events.count) events for \(ids.count) offsets; \(ContinuousClock.now - started)")
    }
}

/// The `turns=N` of the processor's final "stopped" line.
func stoppedTurns(_ log: String) -> Int {
    guard let line = log.split(separator: "\n").last(where: { $0.contains("stopped") }),
          let r = line.range(of: #"turns=[0-9]+"#, options: .regularExpression) else { return 0 }
    return Int(line[r].dropFirst("turns=".count)) ?? 0
}

/// The dialogue counts of every "dialogue state loaded" line.
func loadedDialogueCounts(_ log: String) -> [Int] {
    log.split(separator: "\n").filter { $0.contains("dialogue state loaded") }.compactMap { line in
        line.range(of: #"dialogue.count=[0-9]+"#, options: .regularExpression).flatMap { Int(line[$0].dropFirst("dialogue.count=".count)) }
    }
}
