import Foundation
import Kafka

// Intake and batching: records from the consumer (and its rebalance events) into micro-batches.

extension StreamProcessor {
    /// Collects up to `maxBatchSize` records, waiting at most `maxBatchWait` after the first.
    /// Rebalance events are handled in order; a revocation first finishes the records collected so far.
    func nextBatch(stop: StopFlag) async throws -> [KafkaRecord] {
        var batch: [KafkaRecord] = []
        var deadline: ContinuousClock.Instant?
        // Under a real backlog latency is queueing anyway, so take full batches for throughput;
        // otherwise cap the batch at the inference budget, for latency.
        let lag = (try? consumer.lag()) ?? [:]
        for (tp, n) in lag { metrics.lag(tp).record(n) }
        let backlog = lag.values.reduce(0, +)
        progress.lagRead(Int(backlog))
        let budget = configuration.batchInferenceBudget / .seconds(1)
        let size = backlog > Int64(4 * configuration.maxBatchSize)
            ? configuration.maxBatchSize
            : min(configuration.maxBatchSize, max(1, Int(budget / secondsPerTurn)))
        while batch.count < size && !stop.isSet {
            let wait = deadline.map { max(.zero, $0 - .now) } ?? .milliseconds(100)
            guard let event = try await consumer.nextEvent(timeout: wait) else {
                if deadline != nil { break }
                continue
            }
            switch event {
            case .record(let r):
                batch.append(r)
                progress.taken(1)
                if configuration.recordLatencies { receivedAt.append(.now) }
                if deadline == nil { deadline = .now + configuration.maxBatchWait }
            case .partitionsAssigned(let ps):
                try await loadStates(for: ps)
                joinedGroup = true
                metrics.assignedPartitions.record(assigned.count)
            case .partitionsRevoked(let ps), .partitionsLost(let ps):
                if case .partitionsLost = event {
                    // The group moved on without us (e.g. the session timed out while the broker
                    // was unreachable): these records may already be another member's, and
                    // librdkafka does not finish the rebalance (nor answer a commit) until we
                    // return. Drop them uncommitted: the next owner re-reads them, audits are
                    // idempotent and replays re-publish the audited events.
                    let lost = Set(ps)
                    let keep = batch.indices.filter { !lost.contains(batch[$0].topicPartition) }
                    progress.dropped(batch.count - keep.count)
                    if configuration.recordLatencies && receivedAt.count == batch.count { receivedAt = keep.map { receivedAt[$0] } }
                    batch = keep.map { batch[$0] }
                    logger.warning("partitions lost; their uncommitted records are left to the next owner",
                                   metadata: ["kafka.partitions": "\(ps)"])
                }
                // Finish what was collected, and what is in flight, before giving the partitions
                // up; the consumer waits for our next call before it unassigns.
                try await drainInFlight()
                if !batch.isEmpty {
                    try await finish([prepare(batch)])
                    batch.removeAll()
                    deadline = nil
                }
                assigned.subtract(ps)
                dialogues.remove(partitions: Set(ps))
                for tp in ps { metrics.lag(tp).destroy() }
                metrics.assignedPartitions.record(assigned.count)
                if case .partitionsLost = event { joinedGroup = false }
            }
        }
        return batch
    }
}
