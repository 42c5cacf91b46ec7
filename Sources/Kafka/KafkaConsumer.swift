import CRdKafka
import Foundation
import Logging
import Synchronization

/// What a ``KafkaConsumer`` delivers, in order.
public enum KafkaConsumerEvent: Sendable, Hashable {
    /// A record to process.
    case record(KafkaRecord)
    /// Partitions were added to this member's assignment. Records of these partitions come after this event.
    case partitionsAssigned([KafkaTopicPartition])
    /// Partitions are leaving this member's assignment. The consumer waits until the caller asks for
    /// the next event before it gives them up, so the caller can finish and commit the records it
    /// already received. Their records still buffered are dropped, uncommitted, for the next owner.
    /// With the cooperative-sticky strategy only the moved partitions are revoked.
    case partitionsRevoked([KafkaTopicPartition])
    /// Partitions were lost (the member was evicted); committing their offsets will fail.
    case partitionsLost([KafkaTopicPartition])
}

/// A consumer-group member over librdkafka.
///
/// Records arrive through ``events``, an `AsyncSequence` of ``KafkaConsumerEvent``. Offsets are
/// committed only when the caller calls ``commit(_:)``: auto-commit is never on. A dedicated
/// thread polls librdkafka, so no blocking C call runs on Swift's cooperative thread pool.
///
/// ```swift
/// let consumer = try KafkaConsumer(configuration: config, logger: logger)
/// for try await event in consumer.events {
///     if case .record(let record) = event { ...; try await consumer.commit([record]) }
/// }
/// ```
public final class KafkaConsumer: Sendable {
    private let client: RdKafkaClient
    private let channel: EventChannel<KafkaConsumerEvent>
    private let state: Mutex<State>
    private let configuration: KafkaConsumerConfiguration

    private struct State {
        var stopRequested = false
        /// Partitions the caller paused (``pause(_:)``); flow control never resumes these.
        var userPaused: Set<KafkaTopicPartition> = []
        /// Partitions the poll thread paused because the caller is behind.
        var flowPaused: Set<KafkaTopicPartition> = []
        /// Partitions to resume; the poll thread resumes them and seeks them to ``nextOffsets``.
        var resumeRequested: Set<KafkaTopicPartition> = []
        /// Per assigned partition, the offset after the last record handed to the channel.
        var nextOffsets: [KafkaTopicPartition: Int64] = [:]
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var pollThreadDone = false
    }

    /// Creates the consumer, subscribes to the configured topics and starts polling.
    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        let properties = try configuration.rdKafkaProperties()
        self.client = try RdKafkaClient(type: RD_KAFKA_CONSUMER, properties: properties, logger: logger) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { _, err, partitions, opaque in
                guard let client = rdKafkaClient(fromOpaque: opaque), let partitions else { return }
                client.onRebalance?(err, partitions)
            }
        }
        self.channel = EventChannel(capacity: configuration.bufferCapacity)
        self.state = Mutex(State())
        client.onRebalance = { [weak self] err, partitions in self?.rebalance(err, partitions) }
        rd_kafka_poll_set_consumer(client.handle)
        // With no topics the consumer only answers offset queries (``committed(_:timeout:)``).
        if !configuration.topics.isEmpty { try subscribe(configuration.topics) }
        let thread = Thread { [self] in pollLoop() }
        thread.name = "kafka.consumer.poll"
        thread.start()
    }

    private func subscribe(_ names: [String]) throws {
        let topics = makePartitionList(names.map {
            (KafkaTopicPartition(topic: $0, partition: Int32(RD_KAFKA_PARTITION_UA)), nil)
        })
        defer { rd_kafka_topic_partition_list_destroy(topics) }
        let err = rd_kafka_subscribe(client.handle, topics)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(rdKafka: err, "subscribe to \(names.joined(separator: ","))")
        }
    }

    /// The events: records and rebalances, in the order librdkafka produced them.
    /// There is one stream per consumer; iterate it from one task.
    public var events: Events { Events(channel: channel) }

    /// The consumer's events as an `AsyncSequence`.
    public struct Events: AsyncSequence, Sendable {
        public typealias Element = KafkaConsumerEvent
        let channel: EventChannel<KafkaConsumerEvent>

        public struct AsyncIterator: AsyncIteratorProtocol {
            let channel: EventChannel<KafkaConsumerEvent>
            public mutating func next() async throws -> KafkaConsumerEvent? { try await channel.next() }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
    }

    /// The next event, or nil if none arrives within `timeout`; for callers that batch by time.
    /// Throws ``KafkaError/Code/closed`` once the consumer is closed. Do not mix with iterating ``events``
    /// from another task.
    public func nextEvent(timeout: Duration) async throws -> KafkaConsumerEvent? {
        try await channel.next(timeout: timeout)
    }

    /// Waits until a broker answers a metadata request, or throws a clear error after `timeout`.
    public func waitUntilReachable(timeout: Duration? = nil) async throws {
        let client = self.client
        let t = timeout ?? configuration.common.connectTimeout
        try await runBlocking("kafka.consumer.metadata") { try client.checkReachable(timeout: t) }
    }

    /// Commits the given next-offsets-to-read and waits for the group coordinator's answer.
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        let client = self.client
        let items = offsets.map { ($0.key, Optional($0.value)) }
        try await runBlocking("kafka.consumer.commit") {
            let list = makePartitionList(items)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_commit(client.handle, list, 0)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(rdKafka: err, "commit offsets")
            }
            for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let e = list.pointee.elems[i]
                throw KafkaError(rdKafka: e.err, "commit \(String(cString: e.topic))/\(e.partition)")
            }
        }
    }

    /// Commits past the given records: each partition's highest offset plus one.
    public func commit(_ records: [KafkaRecord]) async throws {
        var next: [KafkaTopicPartition: Int64] = [:]
        for r in records { next[r.topicPartition] = max(next[r.topicPartition] ?? 0, r.offset + 1) }
        try await commit(next)
    }

    /// The group's committed next-offsets for these partitions (nil where none is committed).
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws -> [KafkaTopicPartition: Int64?] {
        let client = self.client
        return try await runBlocking("kafka.consumer.committed") {
            let list = makePartitionList(partitions.map { ($0, nil) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_committed(client.handle, list, Int32(clamping: timeout.milliseconds))
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: err, "fetch committed offsets") }
            var out: [KafkaTopicPartition: Int64?] = [:]
            for i in 0..<Int(list.pointee.cnt) {
                let e = list.pointee.elems[i]
                out[KafkaTopicPartition(topic: String(cString: e.topic), partition: e.partition)] = e.offset >= 0 ? e.offset : nil
            }
            return out
        }
    }

    /// Stops fetching these partitions until ``resume(_:)``; for backpressure. A pause lasts while
    /// the partition stays assigned: one revoked and later assigned again starts unpaused.
    /// The caller's pauses and the poll thread's flow control change librdkafka's one pause flag per
    /// partition; each change is made under the lock together with the bookkeeping, so a resume
    /// from one side can never undo a pause the other side has just recorded.
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try state.withLock { s in
            s.userPaused.formUnion(partitions)
            s.resumeRequested.subtract(partitions)
            try pauseOrResume(partitions, pause: true)
        }
    }

    /// Resumes fetching partitions paused with ``pause(_:)`` (unless the consumer is holding them
    /// back itself because the caller is behind; then they resume when it catches up). The poll
    /// thread applies it within its poll interval (100 ms).
    public func resume(_ partitions: [KafkaTopicPartition]) {
        state.withLock { s in
            s.userPaused.subtract(partitions)
            s.resumeRequested.formUnion(partitions.filter { !s.flowPaused.contains($0) })
        }
    }

    /// On the poll thread: resumes the partitions asked for and seeks each to the offset after the
    /// last record handed out. librdkafka 2.0.2 is meant to restart fetching from there by itself,
    /// but a partition paused and resumed around its first fetches sometimes fetched nothing more
    /// (a processor stalled with records waiting, in CI; a consumer test once stopped at 940 of
    /// 1,200 records). The seek (librdkafka's advice for pause after assign, #2190) sets the
    /// position explicitly; it waits for the fetcher to take it, so no record fetched for the old
    /// position is handed out after it.
    private func applyResumes() {
        let seeks = state.withLock { s -> [(KafkaTopicPartition, Int64?)] in
            guard !s.resumeRequested.isEmpty else { return [] }
            let resumed = s.resumeRequested.subtracting(s.userPaused).subtracting(s.flowPaused)
            s.resumeRequested = []
            try? pauseOrResume(Array(resumed), pause: false)
            return resumed.compactMap { tp in s.nextOffsets[tp].map { (tp, Optional($0)) } }
        }
        guard !seeks.isEmpty else { return }
        let list = makePartitionList(seeks)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let e = rd_kafka_seek_partitions(client.handle, list, 5000) {
            client.logger.warning("kafka seek after resume failed", metadata: ["kafka.error": "\(KafkaError(consuming: e, "seek"))"])
        }
    }

    /// Flow control, on the poll thread: the caller is behind, so stop fetching (but keep polling,
    /// which serves rebalances), or it caught up, so fetch again.
    private func applyFlowControl() {
        if channel.isFull {
            guard let assigned = try? assignment() else { return }
            state.withLock { s in
                let newly = assigned.filter { !s.flowPaused.contains($0) && !s.userPaused.contains($0) }
                s.flowPaused.formUnion(newly)
                try? pauseOrResume(newly, pause: true)
            }
        } else if channel.isHalfEmpty {
            state.withLock { s in
                s.resumeRequested.formUnion(s.flowPaused.subtracting(s.userPaused))
                s.flowPaused.removeAll()
            }
        }
        applyResumes()
    }

    private func pauseOrResume(_ partitions: [KafkaTopicPartition], pause: Bool) throws {
        guard !partitions.isEmpty else { return }
        let list = makePartitionList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = pause ? rd_kafka_pause_partitions(client.handle, list) : rd_kafka_resume_partitions(client.handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(rdKafka: err, pause ? "pause partitions" : "resume partitions")
        }
    }

    /// Messages not yet handed to the caller per assigned partition: the cached high watermark
    /// minus the consumer's position, plus the records fetched and still buffered here (up to
    /// `bufferCapacity`; librdkafka counts those as consumed). Non-blocking; partitions without
    /// both figures are left out.
    public func lag() throws -> [KafkaTopicPartition: Int64] {
        let partitions = try assignment()
        guard !partitions.isEmpty else { return [:] }
        let list = makePartitionList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard rd_kafka_position(client.handle, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        let buffered = channel.bufferedCounts { event -> KafkaTopicPartition? in
            if case .record(let r) = event { return r.topicPartition } else { return nil }
        }
        var out: [KafkaTopicPartition: Int64] = [:]
        for i in 0..<Int(list.pointee.cnt) {
            let e = list.pointee.elems[i]
            var low: Int64 = -1, high: Int64 = -1
            guard rd_kafka_get_watermark_offsets(client.handle, e.topic, e.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  high >= 0 else { continue }
            let position = e.offset >= 0 ? e.offset : low
            let tp = KafkaTopicPartition(topic: String(cString: e.topic), partition: e.partition)
            out[tp] = max(0, high - position) + Int64(buffered[tp] ?? 0)
        }
        return out
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(client.handle, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(rdKafka: err, "read assignment") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return readPartitionList(list)
    }

    /// Leaves the group cleanly and stops polling. Records not yet received are not delivered;
    /// their offsets stay uncommitted, so the next owner reads them. Idempotent.
    public func close() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                s.stopRequested = true
                if s.pollThreadDone { return true }
                s.closeWaiters.append(c)
                return false
            }
            // Wake a poll thread blocked on a full buffer or waiting for an acknowledgement.
            channel.finish()
            if done { c.resume() }
        }
    }

    private var stopRequested: Bool { state.withLock { $0.stopRequested } }

    private func pollLoop() {
        let rk = client.handle
        var failure: KafkaError?
        while !stopRequested {
            applyFlowControl()
            guard let message = rd_kafka_consumer_poll(rk, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if let fatal = client.fatalError() {
                    failure = fatal
                    break
                }
                client.logger.warning("kafka consume error", metadata: [
                    "kafka.error": "\(String(cString: rd_kafka_err2name(err)))",
                    "kafka.reason": "\(String(cString: rd_kafka_err2str(err)))",
                ])
                continue
            }
            let record = KafkaRecord(message)
            state.withLock { $0.nextOffsets[record.topicPartition] = record.offset + 1 }
            channel.send(.record(record))
        }
        // Leave the group: this runs the revocation through the rebalance callback.
        rd_kafka_consumer_close(rk)
        channel.finish(throwing: failure)
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.pollThreadDone = true
            s.closed = true
            defer { s.closeWaiters = [] }
            return s.closeWaiters
        }
        waiters.forEach { $0.resume() }
        client.logger.debug("kafka consumer closed", metadata: ["kafka.group": "\(configuration.groupID)"])
    }

    /// Runs inside librdkafka's poll on the poll thread.
    private func rebalance(_ err: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let rk = client.handle
        // NULL on error (seen in CI during a close), which is not the cooperative protocol.
        let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
        let list = readPartitionList(partitions)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let e = rd_kafka_incremental_assign(rk, partitions) {
                    client.logger.error("kafka assign failed", metadata: ["kafka.error": "\(KafkaError(consuming: e, "assign"))"])
                }
            } else {
                rd_kafka_assign(rk, partitions)
            }
            // librdkafka keeps a partition's pause flag across unassignment: one paused when it was
            // revoked would come back paused, with nothing here left to resume it.
            try? pauseOrResume(list, pause: false)
            client.logger.info("kafka partitions assigned", metadata: ["kafka.partitions": "\(list)"])
            if !stopRequested { channel.send(.partitionsAssigned(list)) }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(rk) != 0
            // Records of these partitions not yet handed out are dropped, so the caller hears of the
            // revocation without first working through the buffer: their offsets are uncommitted,
            // and the next owner reads them again.
            let leaving = Set(list)
            let dropped = channel.removeBuffered { event in
                if case .record(let r) = event { leaving.contains(r.topicPartition) } else { false }
            }
            client.logger.info("kafka partitions revoked", metadata: [
                "kafka.partitions": "\(list)", "kafka.lost": "\(lost)", "kafka.dropped_buffered": "\(dropped)",
            ])
            if !stopRequested {
                if lost {
                    // Nothing to finish: their offsets can no longer be committed, and waiting here
                    // would hold up the rejoin (and any commit in flight) behind the caller.
                    channel.send(.partitionsLost(list))
                } else {
                    channel.sendAndWaitForAck(.partitionsRevoked(list))
                }
            }
            state.withLock { s in
                s.flowPaused.subtract(list)
                s.userPaused.subtract(list)
                s.resumeRequested.subtract(list)
                for tp in list { s.nextOffsets[tp] = nil }
            }
            if cooperative {
                if let e = rd_kafka_incremental_unassign(rk, partitions) {
                    client.logger.error("kafka unassign failed", metadata: ["kafka.error": "\(KafkaError(consuming: e, "unassign"))"])
                }
            } else {
                rd_kafka_assign(rk, nil)
            }
        default:
            client.logger.error("kafka rebalance error", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
            rd_kafka_assign(rk, nil)
        }
    }
}
