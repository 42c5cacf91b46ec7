import AuditStore
import Contracts
import Foundation
import Gateway
import Logging
import Pipeline
import Synchronization

/// A model stand-in: "furious" turns are rage, the rest joy; it counts turns per dialogue state
/// and records each batch's size.
final class CountingAnalyzer: TurnAnalyzer {
    struct State: Sendable { var turns = 0 }
    let batches = Mutex<[Int]>([])
    /// Each analyzed turn's tenant, in order.
    let tenants = Mutex<[String?]>([])
    let delay: Duration
    /// A model fault to play: fewer results than turns, or an error whose text must not reach a client.
    enum Fault { case shortResults, throwing }
    let fault: Fault?
    struct ModelFault: Error, CustomStringConvertible { var description: String { "weights corrupt at /secret/path" } }
    init(delay: Duration = .zero, fault: Fault? = nil) {
        self.delay = delay
        self.fault = fault
    }
    var modelVersion: String { "counting-test" }
    func initialState() -> State { State() }
    func analyze(_ turns: [TimedTurn], states: inout [String: State]) throws -> [TurnAnalysis] {
        try analyze(turns, states: &states, explain: [])
    }
    func analyze(_ turns: [TimedTurn], states: inout [String: State], explain: [Bool]) throws -> [TurnAnalysis] {
        batches.withLock { $0.append(turns.count) }
        tenants.withLock { $0 += turns.map(\.turn.tenant) }
        if fault == .throwing { throw ModelFault() }
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds)) }
        return turns.dropLast(fault == .shortResults ? 1 : 0).enumerated().map { i, timed in
            var s = states[timed.turn.stateKey] ?? State()
            s.turns += 1
            states[timed.turn.stateKey] = s
            let angry = timed.turn.text.contains("furious")
            var probs = [Float](repeating: 0.01, count: 32)
            probs[(angry ? PlutchikEmotion.rage : .joy).index] = 0.69
            // The risk carries the dialogue's turn count, so a test can see the state each request had.
            let forecast = EscalationForecast(risk: Float(s.turns) / 100, riskHorizon: 0, horizonSeconds: 60, trend: .steady,
                                              timeToEscalationSeconds: nil, alert: angry)
            // The turn's digit groups are explained too, so a test can see explanations redacted.
            let digits = timed.turn.text.split(separator: " ").filter { $0.allSatisfy(\.isNumber) }.map { Explanation.Word(word: String($0), contribution: 0.1) }
            let words = angry || (i < explain.count && explain[i]) ? [Explanation.Word(word: "furious", contribution: 0.5)] + digits : nil
            return TurnAnalysis(prediction: EmotionPrediction(probabilities: probs, sarcasm: 0.1, intensity: angry ? 0.9 : 0.3),
                                escalation: forecast, explanation: words.map { Explanation(words: $0, escalationTurns: []) })
        }
    }
    func encode(_ state: State) throws -> [UInt8] { [] }
    func decode(_ bytes: [UInt8]) throws -> State { State() }
}

enum Fixture {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let schemas = repository.appendingPathComponent("Schemas")

    static func keys() throws -> APIKeys {
        try APIKeys(pairs: "acme=\(key("acme")),globex=\(key("globex")),*=\(key("*"))")
    }

    /// The test key of `tenant` (`*`: the all-tenant viewer key).
    static func key(_ tenant: String) -> String { "\(tenant == "*" ? "viewer" : tenant)-key-0123456789abcdefghij" }

    static func gateway(_ analyzer: CountingAnalyzer = CountingAnalyzer(), logger: Logger? = nil,
                        configure: (inout GatewayConfiguration) -> Void = { _ in }) throws -> HTTPGateway<CountingAnalyzer> {
        var c = GatewayConfiguration()
        configure(&c)
        var quiet = Logger(label: "gateway-test")
        quiet.logLevel = .critical
        let logger = logger ?? quiet
        return try HTTPGateway(configuration: c, keys: try keys(), analyzer: analyzer, schemasDirectory: schemas, logger: logger)
    }

    static func turn(_ dialogue: String, _ id: Int, _ text: String, tenant: String? = nil, extra: String = "") -> String {
        "{\"dialogue_id\":\"\(dialogue)\",\"turn_id\":\(id),\"speaker\":\"c\",\"role\":\"customer\",\"text\":\"\(text)\"\(tenant.map { ",\"tenant\":\"\($0)\"" } ?? "")\(extra)}"
    }

    /// An audit row as the processor hands it to the live view.
    static func row(_ dialogue: String, _ turn: Int, tenant: String?, risk: Float, alert: Bool = false, at: Date = Date(),
                    hashText: Bool = false, eventJSON: String? = nil, text: String? = nil) -> AuditRow {
        var row = AuditRow(eventID: "t/0/\(turn)", sourceTopic: "t", sourcePartition: 0, sourceOffset: Int64(turn), dialogueID: dialogue,
                 turnID: String(turn), speaker: "customer", role: "customer", tenant: tenant, text: text ?? "turn \(turn) of \(dialogue)",
                 emotion: alert ? "rage" : "joy", confidence: 0.7, sector: alert ? "anger" : "joy", ring: "intense", sarcasm: 0.1,
                 intensity: 0.5, neutral: 0.2, escalationRisk: risk, escalationAlert: alert, modelVersion: "m",
                 turnTimestamp: at, processedAt: at,
                 eventJSON: eventJSON ?? "{\"primaries\":{\"joy\":0.5,\"trust\":0.1,\"fear\":0.05,\"surprise\":0.05,\"sadness\":0.05,\"disgust\":0.05,\"anger\":0.15,\"anticipation\":0.05}}")
        row.hashText = hashText
        return row
    }
}

/// Keeps every log message with its metadata, for tests that check what reaches the log.
struct CapturingLogHandler: LogHandler {
    final class Box: Sendable { let lines = Mutex<[String]>([]) }
    let box: Box
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(_ box: Box) { self.box = box }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        box.lines.withLock { $0.append("\(message) \(metadata ?? [:])") }
    }

    /// A logger whose lines land in the returned box.
    static func logger() -> (Logger, Box) {
        let box = Box()
        return (Logger(label: "gateway-test") { _ in CapturingLogHandler(box) }, box)
    }
}
