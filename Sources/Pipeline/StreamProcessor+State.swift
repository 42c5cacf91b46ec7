import AuditStore
import Foundation
import Kafka

// State load and replay: dialogue state loaded on assignment and when an evicted dialogue comes
// back within its window; turns already applied re-published from their audit rows.

extension StreamProcessor {
    func loadStates(for partitions: [KafkaTopicPartition]) async throws {
        assigned.formUnion(partitions)
        var byTopic: [String: [Int32]] = [:]
        for p in partitions { byTopic[p.topic, default: []].append(p.partition) }
        var loaded = 0
        // Dialogues at or past the committed offset may be replayed, so they load whatever their age.
        let committed = (try? await consumer.committed(partitions)) ?? [:]
        let window = configuration.windowIdle
        for (topic, ps) in byTopic {
            let offsets = Dictionary(uniqueKeysWithValues: ps.map { p in (p, committed[KafkaTopicPartition(topic: topic, partition: p)] ?? nil) })
            let rows = try await retrying("load dialogue state") {
                try await self.writer.loadStates(topic: topic, partitions: offsets, window: window, recentRecords: self.configuration.recentRecords)
            }
            let states = try restore(rows)
            for (row, state) in zip(rows, states) {
                dialogues.put(row.dialogueID, state: state,
                              source: KafkaTopicPartition(topic: topic, partition: row.sourcePartition),
                              lastOffset: row.lastOffset, lastTurnAt: row.lastTurnAt ?? Date())
                loaded += 1
            }
        }
        logger.info("dialogue state loaded", metadata: ["kafka.partitions": "\(partitions)", "dialogue.count": "\(loaded)"])
    }

    /// The state records of stored rows, as stored (they decode for this model). A row written in
    /// another state format or by another model, or whose bytes do not decode for this model, gets
    /// a fresh state instead (logged once per call and counted): its dialogue starts a new window,
    /// and its offset still marks replays.
    func restore(_ rows: [DialogueStateRow]) throws -> [[UInt8]] {
        var dropped: [String: Int] = [:]
        let fresh = try analyzer.encode(analyzer.initialState())
        let states = rows.map { row -> [UInt8] in
            guard row.stateFormat == analyzer.stateFormat, row.modelVersion == analyzer.modelVersion else {
                dropped["format \(row.stateFormat), model \(row.modelVersion ?? "none")", default: 0] += 1
                return fresh
            }
            do {
                _ = try analyzer.decode(row.state)
                return row.state
            } catch {
                dropped["unreadable: \(error)", default: 0] += 1
                return fresh
            }
        }
        let n = dropped.values.reduce(0, +)
        if n > 0 {
            metrics.droppedStates.increment(by: Int64(n))
            stats.droppedStates += n
            logger.warning("stored dialogue states dropped; their dialogues start fresh windows", metadata: [
                "dialogue.count": "\(n)", "state.found": "\(dropped)",
                "state.expected": "format \(analyzer.stateFormat), model \(analyzer.modelVersion)",
            ])
        }
        return states
    }

    /// The state a live dialogue's record holds; nil (a fresh window, logged) if it does not
    /// decode, which only a bug would cause: the store holds what this model encoded.
    func liveState(_ record: [UInt8], of dialogueID: String) -> Analyzer.State? {
        do {
            return try analyzer.decode(record)
        } catch {
            logger.error("a live dialogue's state does not decode; it starts a fresh window",
                         metadata: ["dialogue.id": "\(dialogueID)", "error": "\(error)"])
            return nil
        }
    }

    /// Reloads from `dialogue_state` the dialogues among `firstTurnAt` (each with its first turn's
    /// time in the batch) that were evicted (by the live-dialogue cap, or idle on their partition's
    /// watermark) and come back within their window, so they keep it. Their last state may belong
    /// to the batch in flight, so that is audited first (only when a reload is due). Returns the
    /// reloaded entries.
    func reloadEvicted(_ firstTurnAt: [String: Date]) async throws -> [String: DialogueStore.Entry] {
        let ids = dialogues.takeEvicted(firstTurnAt)
        guard !ids.isEmpty else { return [:] }
        try await drainInFlight()
        let rows = try await retrying("reload evicted dialogue state") {
            try await self.writer.loadStates(topic: self.configuration.inputTopic, dialogueIDs: ids)
        }
        var reloaded: [String: DialogueStore.Entry] = [:]
        for (row, state) in zip(rows, try restore(rows)) {
            let e = DialogueStore.Entry(state: state, source: KafkaTopicPartition(topic: row.sourceTopic, partition: row.sourcePartition),
                                        lastOffset: row.lastOffset, lastTurnAt: row.lastTurnAt ?? Date())
            dialogues.put(row.dialogueID, state: e.state, source: e.source, lastOffset: e.lastOffset, lastTurnAt: e.lastTurnAt)
            reloaded[row.dialogueID] = e
        }
        metrics.reloadedDialogues.increment(by: Int64(reloaded.count))
        logger.debug("evicted dialogue state reloaded", metadata: ["dialogue.count": "\(reloaded.count)", "dialogue.asked": "\(ids.count)"])
        return reloaded
    }

    /// The audited events of turns already applied (a replay after a crash), to re-publish unchanged
    /// without recomputing them. A stored audit counts only when its tenant, dialogue and turn id
    /// are the record's: an audit of another turn at the same offset (the topic was recreated, its offsets
    /// started again) or none at all leaves the turn to be analysed anew (counted and logged).
    /// Returns the re-published messages by record, and the event ids of the records to analyse.
    func republish(_ replays: [(KafkaRecord, TimedTurn)]) async throws
        -> (messages: [(record: KafkaRecord, message: KafkaProducerMessage)], reanalyse: Set<String>) {
        var messages: [(record: KafkaRecord, message: KafkaProducerMessage)] = []
        var reanalyse: Set<String> = []
        for (tp, rs) in Dictionary(grouping: replays, by: \.0.topicPartition) {
            let stored = try await retrying("load audited events") {
                try await self.writer.loadEvents(topic: tp.topic, partition: tp.partition, offsets: rs.map(\.0.offset))
            }
            for (r, t) in rs {
                if let a = stored[r.offset], a.dialogueID == t.turn.dialogueID, a.tenant == t.turn.tenant, a.turnID == String(t.turn.turnID) {
                    let key = Array(t.turn.dialogueID.utf8)
                    messages.append((r, KafkaProducerMessage(topic: configuration.eventsTopic, key: key, value: Array(a.json.utf8),
                                                             headers: Self.traceHeaders(r))))
                } else {
                    reanalyse.insert(Self.eventID(r))
                }
            }
        }
        let mismatched = reanalyse.count
        if mismatched > 0 {
            metrics.replayMismatches.increment(by: Int64(mismatched))
            stats.replayMismatches += mismatched
            logger.warning("offsets at or below their dialogues' applied state hold other turns than audited (topic recreated?); analysing them anew",
                           metadata: ["turn.count": "\(mismatched)"])
        }
        return (messages, reanalyse)
    }
}
