import AuditStore
import Foundation
import Tracing
import Kafka
import Logging
import ServiceLifecycle
import Testing
@testable import Contracts
@testable import Emotion
@testable import Pipeline

// Helpers for the fault-tolerance tests: child processes (`plutchik broker`, `plutchik run`),
// a dedicated PostgreSQL server, generated dialogues, and readers for audits and events.
// Everything talks to 127.0.0.1 only.

/// The repository root, from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A logger that stays quiet unless `PLUTCHIK_TEST_LOG` is set.
let harnessLogger: Logger = {
    var l = Logger(label: "fault-tests")
    l.logLevel = ProcessInfo.processInfo.environment["PLUTCHIK_TEST_LOG"] != nil ? .info : .critical
    return l
}()

/// The `plutchik` binary built next to this test bundle (same scratch path and configuration).
func plutchikBinary() throws -> URL {
    var candidates: [URL] = []
    if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
    let bundle = Bundle.main.bundleURL
    candidates += [bundle, bundle.deletingLastPathComponent()]
    // On Linux the xctest is <scratch>/debug/<name>.xctest; on macOS a bundle inside that directory.
    for c in candidates {
        var dir = c.standardizedFileURL
        for _ in 0..<4 {
            let f = dir.appendingPathComponent("plutchik")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: f.path, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: f.path) { return f }
            dir = dir.deletingLastPathComponent()
        }
    }
    throw HarnessError("""
        the plutchik binary was not found next to the test bundle (\(bundle.path)): build it with \
        `swift build --build-tests` (Deploy/test.sh does) before `swift test --skip-build`
        """)
}

/// Fails (does not skip) when the MiniLM files are missing.
func requireModelFiles() throws -> URL {
    let env = ProcessInfo.processInfo.environment["PLUTCHIK_MODEL_DIR"]
    let dir = env.map { URL(fileURLWithPath: $0) }
        ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/all-MiniLM-L6-v2")
    for f in ["model.safetensors", "vocab.txt"] where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path) {
        throw HarnessError("\(dir.path)/\(f) is missing: run Deploy/fetch-model.sh (Deploy/test.sh installs it)")
    }
    return dir
}

/// Polls `condition` every `interval` until it holds; throws naming `what` after `timeout`.
func waitUntil(_ what: @autoclosure () -> String, timeout: Duration, interval: Duration = .milliseconds(200),
               _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        guard ContinuousClock.now < deadline else { throw HarnessError("timed out after \(timeout) waiting for \(what())") }
        try await Task.sleep(for: interval)
    }
}

/// A child process with its output in a log file.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let logURL: URL

    init(name: String, executable: URL, arguments: [String], environment: [String: String] = [:], logDirectory: URL) throws {
        self.name = name
        logURL = logDirectory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        var env = ProcessInfo.processInfo.environment
        for k in ["KAFKA_BROKERS", "DATABASE_URL", "PLUTCHIK_GROUP_ID"] { env[k] = nil }
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func signal(_ sig: Int32) { if process.isRunning { kill(pid, sig) } }

    /// Waits for the process to exit; returns its status (or signal).
    @discardableResult
    func waitForExit(timeout: Duration) async throws -> Int32 {
        try await waitUntil("\(name) (pid \(pid)) to exit", timeout: timeout, interval: .milliseconds(50)) { !process.isRunning }
        return process.terminationStatus
    }

    /// Kills the process if still running (for cleanup).
    func stop() {
        if process.isRunning {
            kill(pid, SIGKILL)
            while process.isRunning { usleep(20_000) }
        }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func logTail(_ lines: Int = 30) -> String {
        log.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Resident memory in MB, from /proc/PID/status.
    func rssMB() -> Double? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }
}

/// A scratch directory per test, for the child processes' logs; the test removes it when done
/// (its failure messages carry the log tails).
func makeScratchDirectory(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// The topics one pipeline uses.
struct PipelineTopics: Sendable {
    var input: String
    var events: String
    var alerts: String
    var dlq: String
    init(_ prefix: String) {
        input = "\(prefix).turns"; events = "\(prefix).events"; alerts = "\(prefix).alerts"; dlq = "\(prefix).dlq"
    }
    var all: [String] { [input, events, alerts, dlq] }
}

/// `plutchik broker` as a child process.
final class BrokerChild: @unchecked Sendable {
    let child: ChildProcess
    let bootstrap: String

    init(topics: [String], partitions: Int, directory: URL) async throws {
        let file = directory.appendingPathComponent("bootstrap")
        child = try ChildProcess(
            name: "broker", executable: try plutchikBinary(),
            arguments: ["broker", "--bootstrap-file", file.path, "--log-level", "warning"]
                + topics.flatMap { ["--topic", "\($0):\(partitions)"] },
            logDirectory: directory)
        let c = child
        try await waitUntil("plutchik broker to write \(file.path) (log: \(c.logTail()))", timeout: .seconds(20)) {
            guard c.isRunning else { throw HarnessError("plutchik broker exited early: \(c.logTail())") }
            return FileManager.default.fileExists(atPath: file.path)
        }
        bootstrap = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard bootstrap.hasPrefix("127.0.0.1:") else { throw HarnessError("broker bootstrap \(bootstrap) is not on loopback") }
    }
}

/// Runs `plutchik` with `arguments` to its end in the repository root, with only `environment` and
/// PATH in its environment; returns its exit status and stderr.
func runPlutchik(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, stderr: String) {
    let process = Process()
    process.executableURL = try plutchikBinary()
    process.arguments = arguments
    process.currentDirectoryURL = repositoryRoot
    process.environment = environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]) { a, _ in a }
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// `plutchik run` as a child process (`environment` beside the model directory's).
func startProcessor(name: String, bootstrap: String, databaseURL: String, group: String, topics: PipelineTopics,
                    directory: URL, extra: [String] = [], environment: [String: String] = [:]) throws -> ChildProcess {
    try ChildProcess(
        name: name, executable: try plutchikBinary(),
        arguments: [
            "run", "--brokers", bootstrap, "--database-url", databaseURL, "--group-id", group,
            "--input-topic", topics.input, "--events-topic", topics.events, "--escalations-topic", topics.alerts,
            "--dlq-topic", topics.dlq, "--metrics-port", "0", "--log-level", "info",
            // A killed member leaves the group after its session times out: keep that short.
            "--kafka", "session.timeout.ms=4000", "--kafka", "heartbeat.interval.ms=500",
        ] + extra,
        environment: ["PLUTCHIK_MODEL_DIR": try requireModelFiles().path].merging(environment) { _, given in given },
        logDirectory: directory)
}

/// A fresh, migrated database on the server `Deploy/test.sh` starts.
func freshDatabase() async throws -> String {
    let db = try PipelineTestDatabase()
    let writer = try AuditWriter(configuration: .init(url: db.url))
    _ = try await writer.migrate(directory: PipelineTestDatabase.migrations)
    return db.url
}

/// A throw-away PostgreSQL server of one test's own (`Deploy/postgres.sh`), which the test may stop and start.
final class DedicatedPostgres: @unchecked Sendable {
    let directory: String
    let port: Int
    let url: String
    private let pgBin: String

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("plutchik-pg-\(UInt32.random(in: 0...UInt32.max))").path
        port = Int(UInt16.random(in: 20_000...40_000))
        guard let bin = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?
            .sorted().last.map({ "/usr/lib/postgresql/\($0)/bin" }), FileManager.default.fileExists(atPath: bin + "/pg_ctl") else {
            throw HarnessError("no PostgreSQL server found: run Deploy/install-deps.sh (apt package postgresql)")
        }
        pgBin = bin
        let out = try await Self.shell(repositoryRoot.appendingPathComponent("Deploy/postgres.sh").path, ["start", directory, String(port)])
        url = out.trimmingCharacters(in: .whitespacesAndNewlines)
        guard url.hasPrefix("postgresql://") else { throw HarnessError("Deploy/postgres.sh start printed '\(out)'") }
    }

    /// `pg_ctl stop -m fast`: the server is gone, its data stays.
    func stop() async throws {
        _ = try await Self.shell(asPostgres(pgBin + "/pg_ctl"), asPostgresArgs(["-D", directory, "-m", "fast", "-w", "stop"]))
    }

    /// Starts the stopped server again on the same port.
    func start() async throws {
        _ = try await Self.shell(repositoryRoot.appendingPathComponent("Deploy/postgres.sh").path, ["start", directory, String(port)])
    }

    /// Stops it and removes its directory.
    func remove() {
        let p = Process()
        p.executableURL = repositoryRoot.appendingPathComponent("Deploy/postgres.sh")
        p.arguments = ["stop", directory]
        try? p.run()  // fire and forget: a defer cannot await
    }

    private func asPostgres(_ exe: String) -> String { getuid() == 0 ? "/usr/sbin/runuser" : exe }
    private func asPostgresArgs(_ args: [String]) -> [String] { getuid() == 0 ? ["-u", "postgres", "--", pgBin + "/pg_ctl"] + args : args }

    /// Runs a command to completion with its output in files (the server pg_ctl starts outlives the
    /// script and would hold a pipe open), spawned and reaped with posix_spawn/waitpid: Foundation's
    /// Process did not always see such a script exit.
    @discardableResult
    static func shell(_ exe: String, _ args: [String]) async throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("sh-\(UInt32.random(in: 0...UInt32.max))").path
        defer { unlink(base + ".out"); unlink(base + ".err") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([exe] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, nil, argv, environ)
        guard rc == 0 else { throw HarnessError("cannot run \(exe): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 { try await Task.sleep(for: .milliseconds(50)) }
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        // Exited normally with status 0: (status & 0x7f) == 0 and (status >> 8) & 0xff == 0.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw HarnessError("\(exe) \(args.joined(separator: " ")) failed (wait status \(status)): \(err)")
        }
        return out
    }
}

// MARK: - Generated dialogues

/// One generated input turn.
struct GeneratedTurn: Sendable {
    var dialogueID: String
    var turnID: Int
    var json: String
}

/// `dialogues` contact-centre dialogues of `turns` turns each, interleaved at random (seeded) with
/// each dialogue's turns in order. Timestamps are explicit (so a rerun computes the same
/// forecasts) and start at `base`.
func generateDialogues(dialogues: Int, turns: Int, seed: UInt64, base: Date) -> [GeneratedTurn] {
    var rng = SeededGenerator(seed: seed)
    let calm = ["thanks, that helps", "could you check my order status please", "I moved house last month",
                "the parcel number is on the email", "ok I will wait", "great, have a nice day", "can I change the delivery address",
                "my card was charged twice", "is there a discount for students", "I need a copy of the invoice"]
    let angry = ["this is the third time I am calling and nobody helps", "I am furious, cancel everything now",
                 "you people are useless", "I want to speak to a manager right now", "this is absolutely unacceptable!!",
                 "I have been waiting for two weeks, ridiculous"]
    let agent = ["I am sorry to hear that, let me check", "I understand, one moment please", "I have escalated this for you",
                 "could you confirm your postcode", "the refund will arrive in three days", "thank you for your patience"]
    var perDialogue: [[GeneratedTurn]] = []
    for d in 0..<dialogues {
        let id = "dlg-\(seed)-\(d)"
        let temper = Double(rng.next() % 100) / 100
        var t = base.timeIntervalSince1970 + Double(rng.next() % 600)
        var out: [GeneratedTurn] = []
        for n in 1...turns {
            let customer = n % 2 == 1
            let text: String
            if customer {
                let pool = Double(rng.next() % 100) / 100 < temper ? angry : calm
                text = pool[Int(rng.next() % UInt64(pool.count))] + (rng.next() % 3 == 0 ? " (ref \(rng.next() % 10_000))" : "")
            } else {
                text = agent[Int(rng.next() % UInt64(agent.count))]
            }
            t += Double(5 + rng.next() % 60)
            let ts = EmotionEvent.timestamp(Date(timeIntervalSince1970: t))
            let json = #"{"dialogue_id":"\#(id)","turn_id":\#(n),"speaker":"\#(customer ? "cust-\(d)" : "agent-7")","role":"\#(customer ? "customer" : "agent")","text":"\#(text)","ts":"\#(ts)","tenant":"acme","scenario":"billing"}"#
            out.append(GeneratedTurn(dialogueID: id, turnID: n, json: json))
        }
        perDialogue.append(out)
    }
    // Interleave: repeatedly take the next turn of a random dialogue with turns left.
    var next = [Int](repeating: 0, count: dialogues)
    var live = Array(0..<dialogues)
    var out: [GeneratedTurn] = []
    while !live.isEmpty {
        let i = Int(rng.next() % UInt64(live.count))
        let d = live[i]
        out.append(perDialogue[d][next[d]])
        next[d] += 1
        if next[d] == turns { live.remove(at: i) }
    }
    return out
}

/// Produces the turns (keyed by dialogue) and returns each one's partition and offset.
@discardableResult
func produceTurns(_ turns: [GeneratedTurn], bootstrap: String, topic: String) async throws -> [KafkaDeliveryReport] {
    var config = KafkaProducerConfiguration(bootstrapServers: bootstrap)
    config.linger = .milliseconds(2)
    let producer = try KafkaProducer(configuration: config, logger: harnessLogger)
    let reports = try await producer.sendAll(turns.map { KafkaProducerMessage(topic: topic, key: $0.dialogueID, value: $0.json) })
    try await producer.flush()
    return reports
}

// MARK: - Reading results

/// Each event on `topic`, as (event_id, JSON object), including duplicates; reads until every id in
/// `expected` was seen and the topic stays quiet for a moment.
func readEvents(bootstrap: String, topic: String, expected: Set<String>, timeout: Duration = .seconds(60)) async throws
    -> [(id: String, json: [String: Any])] {
    var config = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: "reader-\(UInt32.random(in: 0...UInt32.max))", topics: [topic])
    config.sessionTimeout = .seconds(6)
    let c = try KafkaConsumer(configuration: config, logger: harnessLogger)
    var out: [(id: String, json: [String: Any])] = []
    var seen = Set<String>()
    let deadline = ContinuousClock.now + timeout
    var quietSince = ContinuousClock.now
    while ContinuousClock.now < deadline {
        if case .record(let r)? = try await c.nextEvent(timeout: .milliseconds(200)) {
            quietSince = .now
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(r.value ?? []))) as? [String: Any],
                  let id = obj["event_id"] as? String else { throw HarnessError("unreadable event on \(topic) at \(r.partition)/\(r.offset)") }
            out.append((id, obj))
            seen.insert(id)
        } else if seen.isSuperset(of: expected) && ContinuousClock.now - quietSince > .milliseconds(800) {
            break
        }
    }
    await c.close()
    return out
}

/// The DLQ records of `topic`: their source offsets (as event ids) and error codes.
func readDeadLetters(bootstrap: String, topic: String, atLeast count: Int, timeout: Duration = .seconds(60)) async throws -> [KafkaRecord] {
    var config = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: "dlq-reader-\(UInt32.random(in: 0...UInt32.max))", topics: [topic])
    config.sessionTimeout = .seconds(6)
    let c = try KafkaConsumer(configuration: config, logger: harnessLogger)
    var out: [KafkaRecord] = []
    let deadline = ContinuousClock.now + timeout
    var quietSince = ContinuousClock.now
    while ContinuousClock.now < deadline {
        if case .record(let r)? = try await c.nextEvent(timeout: .milliseconds(200)) {
            out.append(r)
            quietSince = .now
        } else if out.count >= count && ContinuousClock.now - quietSince > .milliseconds(800) {
            break
        }
    }
    await c.close()
    return out
}

/// Event ids (`topic/partition/offset`) of the delivery reports.
func eventIDs(_ reports: [KafkaDeliveryReport], topic: String) -> [String] {
    reports.map { "\(topic)/\($0.partition)/\($0.offset)" }
}

/// The event minus `processed_at`, as canonical JSON text.
/// An event's JSON with `processed_at` removed and every fraction as the Float the event carries:
/// an event replayed from the audit table comes back through PostgreSQL's jsonb, which writes
/// 5.0663154e-09 as 0.0000000050663154 (the same value), and Foundation parses the long decimal
/// into a Decimal whose doubleValue is off in the last bits.
func canonicalEvent(_ obj: [String: Any]) -> String {
    func numbersAsDoubles(_ v: Any) -> Any {
        switch v {
        case let d as [String: Any]: return d.mapValues(numbersAsDoubles)
        case let a as [Any]: return a.map(numbersAsDoubles)
        case is String, is Bool: return v
        case let n as NSNumber: return n.doubleValue == n.doubleValue.rounded() ? n.doubleValue : Double(Float(n.doubleValue))
        default: return v
        }
    }
    var o = obj.mapValues(numbersAsDoubles)
    o["processed_at"] = nil
    let data = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

/// Per-turn results of one run, keyed `dialogue_id#turn_id`.
struct RunResults: Sendable {
    var risks: [String: Double] = [:]
    var emotions: [String: String] = [:]
    /// dialogue_id → (last_offset, state hex)
    var states: [String: String] = [:]
    var auditCount = 0
}

func loadResults(databaseURL: String, topic: String) async throws -> RunResults {
    let c = try PostgresConnection(url: databaseURL)
    var r = RunResults()
    for row in try c.query("SELECT dialogue_id, turn_id, escalation_risk, emotion FROM emotion_audit WHERE source_topic = $1", [topic]) {
        let key = "\(row[0] ?? "")#\(row[1] ?? "")"
        r.risks[key] = Double(row[2] ?? "nan") ?? .nan
        r.emotions[key] = row[3]
        r.auditCount += 1
    }
    for row in try c.query("SELECT dialogue_id, encode(state, 'hex') FROM dialogue_state WHERE source_topic = $1", [topic]) {
        r.states[row[0] ?? ""] = row[1]
    }
    return r
}

/// Audit rows per source offset (`partition/offset` → count) for one input topic.
func auditCounts(databaseURL: String, topic: String) throws -> [String: Int] {
    let c = try PostgresConnection(url: databaseURL)
    var out: [String: Int] = [:]
    for row in try c.query("""
        SELECT source_partition, source_offset, count(*) FROM emotion_audit WHERE source_topic = $1 GROUP BY 1, 2
        """, [topic]) {
        out["\(topic)/\(row[0] ?? "")/\(row[1] ?? "")"] = Int(row[2] ?? "0") ?? 0
    }
    return out
}

func auditTotal(_ connection: PostgresConnection, topic: String) throws -> Int {
    Int(try connection.query("SELECT count(*) FROM emotion_audit WHERE source_topic = $1", [topic])[0][0] ?? "0") ?? 0
}

/// Compares two runs' per-turn risks (to 1e-6), emotions and final dialogue states; returns the differences.
func differences(_ a: RunResults, _ b: RunResults, limit: Int = 10) -> [String] {
    var out: [String] = []
    for (k, ra) in a.risks.sorted(by: { $0.key < $1.key }) {
        guard let rb = b.risks[k] else { out.append("\(k): missing in the reference"); continue }
        if !(abs(ra - rb) <= 1e-6 || (ra.isNaN && rb.isNaN)) { out.append("\(k): risk \(ra) vs \(rb)") }
        if a.emotions[k] != b.emotions[k] { out.append("\(k): emotion \(a.emotions[k] ?? "-") vs \(b.emotions[k] ?? "-")") }
    }
    for k in b.risks.keys where a.risks[k] == nil { out.append("\(k): missing in this run") }
    for (d, s) in a.states where b.states[d] != s { out.append("dialogue_state of \(d) differs") }
    for d in b.states.keys where a.states[d] == nil { out.append("dialogue_state of \(d) missing") }
    return Array(out.prefix(limit)) + (out.count > limit ? ["… \(out.count - limit) more"] : [])
}

/// A run of the same input through a fresh broker, group and database with no faults: what a
/// run with faults must reproduce. Cached per seed, so tests sharing an input pay for it once.
actor ReferenceRuns {
    static let shared = ReferenceRuns()
    private var cache: [String: Task<RunResults, any Error>] = [:]

    func results(for turns: [GeneratedTurn], key: String) async throws -> RunResults {
        if let t = cache[key] { return try await t.value }
        let t = Task { try await Self.run(turns) }
        cache[key] = t
        return try await t.value
    }

    private static func run(_ turns: [GeneratedTurn]) async throws -> RunResults {
        let dir = try makeScratchDirectory("plutchik-ref")
        defer { try? FileManager.default.removeItem(at: dir) }
        let topics = PipelineTopics("ref")
        let broker = try await BrokerChild(topics: topics.all, partitions: 6, directory: dir)
        defer { broker.child.stop() }
        let db = try await freshDatabase()
        try await produceTurns(turns, bootstrap: broker.bootstrap, topic: topics.input)
        let p = try startProcessor(name: "reference", bootstrap: broker.bootstrap, databaseURL: db, group: "ref", topics: topics, directory: dir)
        defer { p.stop() }
        let conn = try PostgresConnection(url: db)
        try await waitUntil("the reference run to audit \(turns.count) turns (log: \(p.logTail()))", timeout: .seconds(150), interval: .milliseconds(500)) {
            guard p.isRunning else { throw HarnessError("the reference processor exited: \(p.logTail())") }
            return try auditTotal(conn, topic: topics.input) >= turns.count
        }
        p.signal(SIGTERM)
        try await p.waitForExit(timeout: .seconds(30))
        return try await loadResults(databaseURL: db, topic: topics.input)
    }
}

// MARK: - In-process pipeline (KeywordAnalyzer and friends)

/// A mock cluster, a fresh database and a processor in this process, with unique topics.
final class InProcessPipeline<Analyzer: TurnAnalyzerForTests>: @unchecked Sendable {
    let cluster: KafkaMockCluster
    var config: PipelineConfiguration
    let databaseURL: String
    let writer: AuditWriter
    let producer: KafkaProducer
    let group: String
    /// The tenant policies the processor is started with (set before ``start``).
    let tenantPolicies = TenantPolicyStore()
    private(set) var processor: StreamProcessor<Analyzer>!
    private var serviceGroup: ServiceGroup?
    private(set) var running: Task<Void, any Error>?
    /// Set when the processor's service group ends (how).
    let ended = EndFlag()

    /// The processor's own producer, when it differs from the test's (``init``'s `processorProperties`).
    private let processorProducer: KafkaProducer?

    init(partitions: Int = 6, messageTimeout: Duration? = nil, processorProperties: [String: String] = [:],
         configure: (inout PipelineConfiguration) -> Void = { _ in }) async throws {
        cluster = try KafkaMockCluster(brokers: 1, logger: harnessLogger)
        var c = PipelineConfiguration()
        let suffix = UInt32.random(in: 0...UInt32.max)
        c.inputTopic = "turns-\(suffix)"; c.eventsTopic = "events-\(suffix)"
        c.escalationsTopic = "alerts-\(suffix)"; c.deadLetterTopic = "dlq-\(suffix)"
        configure(&c)
        for t in [c.inputTopic, c.eventsTopic, c.escalationsTopic, c.deadLetterTopic] { try cluster.createTopic(t, partitions: partitions) }
        config = c
        group = "g-\(suffix)"
        databaseURL = try await freshDatabase()
        writer = try AuditWriter(configuration: .init(url: databaseURL))
        var pc = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        pc.linger = .milliseconds(2)
        if let messageTimeout { pc.messageTimeout = messageTimeout }
        producer = try KafkaProducer(configuration: pc, logger: harnessLogger)
        if processorProperties.isEmpty {
            processorProducer = nil
        } else {
            pc.common.properties = processorProperties
            processorProducer = try KafkaProducer(configuration: pc, logger: harnessLogger)
        }
    }

    func start(_ analyzer: Analyzer, sessionTimeout: Duration = .seconds(6), shadow: ShadowScorer? = nil, tracer: (any Tracer)? = nil) throws {
        var cc = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group, topics: [config.inputTopic])
        cc.sessionTimeout = sessionTimeout
        cc.heartbeatInterval = .milliseconds(500)
        let consumer = try KafkaConsumer(configuration: cc, logger: harnessLogger)
        let p = StreamProcessor(configuration: config, analyzer: analyzer, consumer: consumer, producer: processorProducer ?? producer,
                                writer: writer, logger: harnessLogger, tenantPolicies: tenantPolicies, shadow: shadow, tracer: tracer)
        let g = ServiceGroup(configuration: .init(services: [.init(service: p)], logger: harnessLogger))
        processor = p
        serviceGroup = g
        let ended = self.ended
        running = Task {
            do { try await g.run() } catch { ended.set("\(error)"); throw error }
            ended.set("returned")
        }
    }

    /// Waits until the processor has consumed `count` records (or fails if it stopped).
    func waitForTurns(_ count: Int, timeout: Duration) async throws {
        let p = processor!, r = running!
        try await waitUntil("the processor to consume \(count) records", timeout: timeout, interval: .milliseconds(100)) {
            if let how = ended.value { throw HarnessError("the processor stopped (\(how)) at \(await p.stats.turns) records") }
            _ = r
            return await p.stats.turns >= count
        }
    }

    func stop() async throws {
        await serviceGroup?.triggerGracefulShutdown()
        try await running?.value
    }

    /// The group's committed next offsets, summed over partitions.
    func committedTotal(partitions: Int = 6) async throws -> Int {
        let c = try KafkaConsumer(configuration: .init(bootstrapServers: cluster.bootstrapServers, groupID: group, topics: []), logger: harnessLogger)
        let offsets = try await c.committed((0..<Int32(partitions)).map { KafkaTopicPartition(topic: config.inputTopic, partition: $0) })
        await c.close()
        return offsets.values.reduce(0) { $0 + Int($1 ?? 0) }
    }
}

/// Analyzers the in-process tests use.
typealias TurnAnalyzerForTests = TurnAnalyzer

/// This process's resident memory in MB.
func selfRSSMB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

/// A thread-safe, set-once note.
final class EndFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var v: String?
    var value: String? { lock.withLock { v } }
    func set(_ s: String) { lock.withLock { if v == nil { v = s } } }
}

/// The pipeline's validated turn. (EmotionModel has a `TimedTurn` of its own, for the escalation
/// trainer; this module-level alias keeps the name unambiguous in these tests.)
typealias TimedTurn = Pipeline.TimedTurn
