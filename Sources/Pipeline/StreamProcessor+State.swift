import AuditStore
import Foundation
import Kafka

// State load and replay: dialogue state loaded on assignment and when a dialogue the cap evicted
// comes back; turns already applied re-published from their audit rows.

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
                try await self.writer.loadStates(topic: topic, partitions: offsets, window: window)
            }
            for row in rows {
                guard let state = try? analyzer.decode(row.state) else {
                    logger.warning("dialogue state unreadable; starting fresh", metadata: ["dialogue.id": "\(row.dialogueID)"])
                    continue
                }
                dialogues.put(row.dialogueID, state: state,
                              source: KafkaTopicPartition(topic: topic, partition: row.sourcePartition),
                              lastOffset: row.lastOffset, lastTurnAt: row.lastTurnAt ?? Date())
                loaded += 1
            }
        }
        logger.info("dialogue state loaded", metadata: ["kafka.partitions": "\(partitions)", "dialogue.count": "\(loaded)"])
    }

    /// Reloads from `dialogue_state` the dialogues among `dialogueIDs` that the live-dialogue cap
    /// evicted, so a returning dialogue keeps its window. Their last state may belong to the batch
    /// in flight, so that is audited first (only when a reload is due). Returns the reloaded entries.
    func reloadCapEvicted(_ dialogueIDs: Set<String>) async throws -> [String: DialogueStore<Analyzer.State>.Entry] {
        let ids = dialogues.takeCapEvicted(dialogueIDs)
        guard !ids.isEmpty else { return [:] }
        try await drainInFlight()
        let rows = try await retrying("reload evicted dialogue state") {
            try await self.writer.loadStates(topic: self.configuration.inputTopic, dialogueIDs: ids)
        }
        var reloaded: [String: DialogueStore<Analyzer.State>.Entry] = [:]
        for row in rows {
            guard let state = try? analyzer.decode(row.state) else {
                logger.warning("dialogue state unreadable; starting fresh", metadata: ["dialogue.id": "\(row.dialogueID)"])
                continue
            }
            let e = DialogueStore<Analyzer.State>.Entry(state: state, source: KafkaTopicPartition(topic: row.sourceTopic, partition: row.sourcePartition),
                                                        lastOffset: row.lastOffset, lastTurnAt: row.lastTurnAt ?? Date(), lastUsed: 0)
            dialogues.put(row.dialogueID, state: e.state, source: e.source, lastOffset: e.lastOffset, lastTurnAt: e.lastTurnAt)
            reloaded[row.dialogueID] = e
        }
        metrics.reloadedDialogues.increment(by: Int64(reloaded.count))
        logger.debug("evicted dialogue state reloaded", metadata: ["dialogue.count": "\(reloaded.count)", "dialogue.asked": "\(ids.count)"])
        return reloaded
    }

    /// Re-publishes the audited events of turns already applied (a replay after a crash), unchanged,
    /// without recomputing them; an offset with no audit row goes to the dead-letter topic. Returns
    /// the messages, how many events were re-published and how many records dead-lettered.
    func republish(_ replays: [KafkaRecord]) async throws -> (messages: [KafkaProducerMessage], replayed: Int, deadLettered: Int) {
        var messages: [KafkaProducerMessage] = []
        var replayed = 0, dlq = 0
        for (tp, rs) in Dictionary(grouping: replays, by: \.topicPartition) {
            let stored = try await retrying("load audited events") {
                try await self.writer.loadEvents(topic: tp.topic, partition: tp.partition, offsets: rs.map(\.offset))
            }
            for r in rs {
                if let json = stored[r.offset] {
                    messages.append(KafkaProducerMessage(topic: configuration.eventsTopic, key: r.key, value: Array(json.utf8)))
                    replayed += 1
                } else {
                    messages.append(deadLetter(r, code: "replay_missing_audit",
                                               reason: "offset is at or below the dialogue's applied state but has no audit row"))
                    dlq += 1
                }
            }
        }
        return (messages, replayed, dlq)
    }
}
