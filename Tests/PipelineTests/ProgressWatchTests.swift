import Foundation
import Kafka
import Testing
@testable import Pipeline

@Suite("Stall detection")
struct ProgressWatchTests {
    let t0 = ContinuousClock.now

    @Test("idle is not a stall; work without a finished batch for longer than the limit is")
    func stallClock() {
        var w = ProgressWatch(limit: .seconds(10), now: t0)
        #expect(w.stalled(at: t0 + .seconds(100)) == nil)  // nothing waiting
        // Records appear after 100 s idle: the clock starts then, not at the last batch.
        w.lagRead(50, at: t0 + .seconds(100))
        #expect(w.stalled(at: t0 + .seconds(105)) == nil)
        #expect(w.stalled(at: t0 + .seconds(111)) == .seconds(11))
        // A finished batch restarts the clock; while work remains only a recovered dependency also does.
        w.taken(32, at: t0 + .seconds(111))
        w.finished(32, at: t0 + .seconds(112))
        w.lagRead(18, at: t0 + .seconds(112))
        #expect(w.stalled(at: t0 + .seconds(121)) == nil)
        #expect(w.stalled(at: t0 + .seconds(130)) == .seconds(18))
        // A dependency was down from 130 s to 200 s (the processor does not ask then); once it is
        // back, the wait does not count.
        w.dependencyRecovered(at: t0 + .seconds(200))
        #expect(w.stalled(at: t0 + .seconds(201)) == nil)
        #expect(w.stalled(at: t0 + .seconds(211)) == .seconds(11))
        // Caught up: idle again.
        w.lagRead(0, at: t0 + .seconds(211))
        #expect(w.stalled(at: t0 + .seconds(500)) == nil)
    }

    @Test("records in hand count as work even when the last lag read found nothing waiting")
    func recordsInHand() {
        var w = ProgressWatch(limit: .seconds(10), now: t0)
        w.lagRead(0, at: t0 + .seconds(50))
        // A record arrives while idle and is held (the processor's last partial batch).
        w.taken(1, at: t0 + .seconds(60))
        #expect(w.stalled(at: t0 + .seconds(69)) == nil)
        #expect(w.stalled(at: t0 + .seconds(71)) == .seconds(11))
        w.taken(2, at: t0 + .seconds(71))
        w.finished(3, at: t0 + .seconds(72))
        #expect(w.stalled(at: t0 + .seconds(200)) == nil)
        // Records dropped with a lost partition are no longer work.
        w.taken(4, at: t0 + .seconds(200))
        w.dropped(4)
        #expect(w.stalled(at: t0 + .seconds(300)) == nil)
    }

    @Test("the processor reports a batch that takes longer than the stall timeout, and recovers", .timeLimit(.minutes(1)))
    func processorReportsStall() async throws {
        let pipeline = try await InProcessPipeline<KeywordAnalyzer>(partitions: 1) {
            $0.maxBatchSize = 4
            $0.stallTimeout = .milliseconds(300)
        }
        let topic = pipeline.config.inputTopic
        _ = try await pipeline.producer.sendAll((0..<8).map {
            KafkaProducerMessage(topic: topic, key: "d\($0)", value: #"{"dialogue_id":"d\#($0)","turn_id":1,"speaker":"c","text":"thanks"}"#)
        })
        // 0.5 s per turn: each 4-turn batch takes 2 s.
        try pipeline.start(KeywordAnalyzer(secondsPerTurn: 0.5))
        let processor = try #require(pipeline.processor)
        var seen: Duration?
        try await waitUntil("a stall to be reported", timeout: .seconds(20), interval: .milliseconds(50)) {
            seen = await processor.stall()
            return seen != nil
        }
        #expect(try #require(seen) > .milliseconds(300))
        try await pipeline.waitForTurns(8, timeout: .seconds(30))
        #expect(await processor.stall() == nil, "caught up, yet still reported stalled")
        try await pipeline.stop()
    }
}
