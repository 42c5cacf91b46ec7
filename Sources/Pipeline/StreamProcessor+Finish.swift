import AuditStore
import Contracts
import Foundation
import Kafka

// Finish: a prepared batch's events and alerts published (every delivery report awaited), its
// audits and dialogue state written in one transaction, then its offsets committed.

extension StreamProcessor {
    /// Waits for the batch in flight, rethrowing its failure.
    func drainInFlight() async throws {
        guard let task = inFlight else { return }
        inFlight = nil
        try await task.value
    }

    /// Publishes a prepared batch and waits for every delivery report, writes its audits and
    /// dialogue state in one transaction, then commits its offsets.
    func finish(_ b: PreparedBatch) async throws {
        let (built, audit, alerts) = try await encode(b)
        let messages = built + b.messages
        let t0 = ContinuousClock.now
        try await retrying("publish events") { _ = try await self.producer.sendAll(messages) }
        let t1 = ContinuousClock.now
        if configuration.recordLatencies {
            let acked = ContinuousClock.now
            for t in b.receivedAt { stats.latencies.append((acked - t) / .seconds(1)) }
        }
        if !audit.audits.isEmpty || !audit.states.isEmpty {
            try await retrying("write audits") { try await self.writer.write(audit) }
            metrics.auditWrite.record(duration: ContinuousClock.now - t1)
        }
        let t2 = ContinuousClock.now
        let records = b.records
        do {
            try await retrying("commit offsets") { try await self.consumer.commit(records) }
        } catch let e as KafkaError where e.meansPartitionsMoved {
            // The group moved on while this batch was in flight (its partitions were lost). The
            // batch is published and audited; the next owner re-reads it and replays from the audits.
            logger.warning("offsets not committed: the partitions moved to a new generation; the next owner replays them",
                           metadata: ["error": "\(e)"])
        }

        if let retention = configuration.stateRetention, lastPrune.map({ ContinuousClock.now - $0 > .seconds(3600) }) ?? true {
            lastPrune = .now
            do {
                let n = try await writer.pruneStates(olderThan: retention)
                logger.info("dormant dialogue states pruned", metadata: ["dialogue.count": "\(n)"])
            } catch {
                logger.warning("pruning dialogue states failed; will try again", metadata: ["error": "\(error)"])
            }
        }

        metrics.turns.increment(by: Int64(records.count))
        metrics.events.increment(by: Int64(b.analyzed.count))
        metrics.replayed.increment(by: Int64(b.replayed))
        metrics.escalations.increment(by: Int64(alerts))
        metrics.batchSize.record(records.count)
        metrics.batchLatency.record(duration: ContinuousClock.now - b.started)
        progress.finished(records.count)
        stats.batches += 1
        stats.turns += records.count
        stats.events += b.analyzed.count
        stats.replayed += b.replayed
        stats.deadLettered += b.deadLettered
        stats.alerts += alerts
        logger.debug("batch done", metadata: [
            "batch.size": "\(records.count)", "batch.dlq": "\(b.deadLettered)", "batch.replayed": "\(b.replayed)",
            "batch.alerts": "\(alerts)", "batch.publish_ms": "\(ms(t1 - t0))", "batch.audit_ms": "\(ms(t2 - t1))",
            "batch.commit_ms": "\(ms(ContinuousClock.now - t2))", "batch.total_ms": "\(ms(ContinuousClock.now - b.started))",
        ])
    }

    /// The batch's events and alerts as messages, its audit rows and dialogue states, and how many
    /// alerts it raised. Off the actor, so it overlaps the next batch's collection and analysis.
    nonisolated func encode(_ b: PreparedBatch) async throws -> ([KafkaProducerMessage], AuditBatch, alerts: Int) {
        let encoder = EmotionEvent.encoder()
        let now = b.processedAt
        let version = analyzer.modelVersion
        var messages: [KafkaProducerMessage] = []
        var batch = AuditBatch()
        for (r, timed, analysis) in b.analyzed {
            let turn = timed.turn
            var event = EmotionEvent(turn: turn, prediction: analysis.prediction, modelVersion: version, processedAt: now)
            event.eventID = Self.eventID(r)
            event.ts = EmotionEvent.timestamp(timed.timestamp)
            event.escalation = analysis.escalation
            event.source = EmotionEvent.Source(topic: r.topic, partition: r.partition, offset: r.offset, timestampMs: r.timestampMs)
            let json = try encoder.encode(event)
            let key = Array(turn.dialogueID.utf8)
            messages.append(KafkaProducerMessage(topic: configuration.eventsTopic, key: key, value: Array(json)))
            let p = analysis.prediction
            batch.audits.append(AuditRow(
                eventID: event.eventID, sourceTopic: r.topic, sourcePartition: r.partition, sourceOffset: r.offset,
                dialogueID: turn.dialogueID, turnID: String(turn.turnID), speaker: turn.speaker, role: turn.role?.rawValue,
                tenant: turn.tenant, scenario: turn.scenario, topic: turn.topic, channel: turn.channel, text: turn.text,
                emotion: p.label.rawValue, confidence: p.confidence, sector: p.label.sector.name, ring: p.label.ring.rawValue,
                sarcasm: p.sarcasm, intensity: p.intensity, neutral: p.neutral, isNeutral: p.isNeutral,
                escalationRisk: analysis.escalation?.risk,
                escalationAlert: analysis.escalation?.alert ?? false, modelVersion: version,
                turnTimestamp: timed.timestamp, processedAt: now, eventJSON: String(decoding: json, as: UTF8.self)))
            if let esc = analysis.escalation, esc.alert {
                let alert = EscalationAlert(event: event, escalation: esc, raisedAt: now)
                let alertJSON = try encoder.encode(alert)
                messages.append(KafkaProducerMessage(topic: configuration.escalationsTopic, key: key, value: Array(alertJSON)))
                batch.escalations.append(EscalationRow(
                    eventID: event.eventID, dialogueID: turn.dialogueID, turnID: String(turn.turnID), tenant: turn.tenant,
                    risk: esc.risk, horizonSeconds: Float(esc.horizonSeconds), trend: esc.trend.rawValue,
                    alertJSON: String(decoding: alertJSON, as: UTF8.self), raisedAt: now))
            }
        }
        for (id, r, turnAt, s) in b.states {
            batch.states.append(DialogueStateRow(dialogueID: id, sourceTopic: r.topic, sourcePartition: r.partition,
                                                 lastOffset: r.offset, state: try analyzer.encode(s), lastTurnAt: turnAt))
        }
        return (messages, batch, batch.escalations.count)
    }

    /// `topic/partition/offset`: the turn's identity in Kafka, so consumers can de-duplicate.
    static func eventID(_ record: KafkaRecord) -> String {
        "\(record.topic)/\(record.partition)/\(record.offset)"
    }
}

extension KafkaError {
    /// The commit was refused because this member no longer owns the partitions in the current
    /// generation (its assignment was lost), not because a dependency is down.
    var meansPartitionsMoved: Bool {
        ["ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID", "_ASSIGNMENT_LOST"].contains(rdKafkaName ?? "")
    }
}
