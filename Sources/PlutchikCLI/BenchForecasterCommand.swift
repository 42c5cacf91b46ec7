import ArgumentParser
import Contracts
import Escalation
import Foundation

/// `plutchik bench forecaster`: the escalation forecaster's per-turn cost, next to the encoder's.
struct BenchForecasterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecaster",
        abstract: "Time EscalationForecaster.update per turn and compare it with the encoder's time per turn.",
        discussion: """
            Runs the forecaster over synthetic dialogues (8 turns, random emotion predictions, log-normal gaps), \
            one update per turn on one thread. The encoder's per-turn time is measured on the first --encoder-messages \
            of the corpus when the model files are there (batch 32), otherwise --encoder-ms is used. With --json, \
            prints {"forecaster_us_per_turn","forecaster_p50_us","forecaster_p99_us","encoder_ms_per_turn",\
            "encoder_measured","share_of_encoder"}.
            """
    )

    @Option(help: "Escalation model directory.")
    var escalation: String = "Models/escalation"
    @Option(help: "Turns to time.")
    var turns: Int = 50_000
    @Option(help: "Encoder time per turn (ms) to compare with when it cannot be measured.")
    var encoderMs: Double = 3.33
    @Option(help: "Messages to time the encoder on.")
    var encoderMessages: Int = 512
    @Option(help: "JSONL corpus with a \"text\" field, for the encoder timing.")
    var corpus: String = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/plutchik/chitchat-8000.jsonl").path
    @Flag(help: "Print one JSON object on stdout.")
    var json = false
    @OptionGroup var model: ModelOptions

    func run() throws {
        let forecaster = try EscalationForecaster(directory: URL(fileURLWithPath: escalation))
        // Inputs: softmax of random logits, prepared before timing.
        var rng = SystemRandomNumberGenerator()
        let inputs: [EmotionPrediction] = (0..<1024).map { _ in
            let logits = (0..<PlutchikEmotion.count).map { _ in Float.random(in: -3...3, using: &rng) }
            let m = logits.max()!, e = logits.map { exp($0 - m) }, s = e.reduce(0, +)
            return EmotionPrediction(probabilities: e.map { $0 / s }, sarcasm: .random(in: 0...1), intensity: .random(in: 0...1))
        }
        let gaps: [Double] = (0..<1024).map { _ in 6 * exp(Double.random(in: -2...2)) + 20 }
        let texts = ["my internet has been down since this morning", "Could you confirm the postcode?",
                     "This is ridiculous, you people never fix anything!", "thanks, that works now"]

        var state = forecaster.initialState()
        var t = 0.0, lat: [Double] = [], alerts = 0
        lat.reserveCapacity(turns)
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<turns {
            if i % 8 == 0 { state = forecaster.initialState() }
            t += gaps[i % gaps.count]
            let t0 = DispatchTime.now().uptimeNanoseconds
            let f = try forecaster.update(&state, prediction: inputs[i % inputs.count], text: texts[i % texts.count], timestamp: t)
            lat.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e3)
            if f.alert { alerts += 1 }
        }
        let perTurnUs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(turns)
        lat.sort()
        let p50 = lat[lat.count / 2], p99 = lat[min(lat.count - 1, lat.count * 99 / 100)]

        var encMs = encoderMs, measured = false
        if let ms = try? timeEncoder() { encMs = ms; measured = true }
        let share = perTurnUs / 1000 / encMs
        if json {
            print(String(format: "{\"forecaster_us_per_turn\":%.2f,\"forecaster_p50_us\":%.2f,\"forecaster_p99_us\":%.2f,\"encoder_ms_per_turn\":%.3f,\"encoder_measured\":%@,\"share_of_encoder\":%.4f}",
                         perTurnUs, p50, p99, encMs, measured ? "true" : "false", share))
        } else {
            print(String(format: "forecaster: %.1f µs/turn (p50 %.1f µs, p99 %.1f µs) over %d turns, latent %d, %@", perTurnUs, p50, p99, turns,
                         forecaster.weights.latentDim, forecaster.weights.ode ? "ODE-RNN" : "GRU"))
            print(String(format: "encoder:    %.3f ms/turn (%@)", encMs, measured ? "measured, batch 32, \(model.inference.threads(batchSize: 32)) thread(s)" : "assumed; pass the model files to measure"))
            print(String(format: "forecaster / encoder: %.2f%% (budget 5%%)", share * 100))
        }
    }

    /// The encoder's milliseconds per message over the corpus's first messages, batch 32.
    func timeEncoder() throws -> Double {
        let (tokenizer, encoder) = try model.load(batchSize: 32)
        var reader = try LineReader(path: corpus)
        defer { reader.close() }
        var ids: [[Int32]] = []
        while ids.count < encoderMessages, let line = reader.next() {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let text = o["text"] as? String else { continue }
            ids.append(tokenizer.encode(text))
        }
        guard !ids.isEmpty else { throw ValidationError("no messages in \(corpus)") }
        return try timeEncoderPass(encoder, ids) * 1000 / Double(ids.count)
    }
}
