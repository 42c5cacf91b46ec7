import AuditStore
import Contracts
import Foundation
import Kafka
import Redaction
import Tracing

// Finish: a prepared batch's events and alerts published (every delivery report awaited), its
// audits and dialogue state written in one transaction, then its offsets committed. Every record
// ends as an event plus an audit row, or as a dead letter with a reason.

extension StreamProcessor {
    /// Queues a prepared batch for the finisher, starting one if none runs. With a backlog the
    /// finisher falls behind and batches queue up; it then finishes them together (up to
    /// ``PipelineConfiguration/maxCoalescedBatches``): one publish-and-wait, one transaction, one
    /// commit. When the queue is full, waits for the finisher to drain it.
    func enqueueFinish(_ prepared: PreparedBatch) async throws {
        pending.append(prepared)
        if pending.count >= configuration.maxCoalescedBatches {
            try await drainInFlight()
        } else if let task = inFlight, !finisherRunning {
            // The finisher stopped: surface its failure, if any, before starting another.
            inFlight = nil
            try await task.value
        }
        if inFlight == nil && !pending.isEmpty { startFinisher() }
    }

    private func startFinisher() {
        finisherRunning = true
        inFlight = Task { try await self.finishPending() }
    }

    /// The finisher: finishes the queued batches in order, those queued by then together, until
    /// none is left.
    func finishPending() async throws {
        defer { finisherRunning = false }
        while !pending.isEmpty {
            let group = Array(pending.prefix(configuration.maxCoalescedBatches))
            pending.removeFirst(group.count)
            try await finish(group)
        }
    }

    /// Waits until every queued batch is finished, rethrowing a failure.
    func drainInFlight() async throws {
        while let task = inFlight {
            inFlight = nil
            try await task.value
            if !pending.isEmpty { startFinisher() }
        }
    }

    /// Publishes prepared batches and waits for every delivery report, writes their audits and
    /// dialogue state in one transaction, then commits their offsets.
    func finish(_ group: [PreparedBatch]) async throws {
        // The turns' spans end once the batch is committed (or given up).
        defer { for b in group { for span in b.spans.values { span.end() } } }
        var deliveries: [Delivery] = [], audit = AuditBatch()
        for b in group {
            let (d, a) = try await encode(b)
            deliveries += d
            audit.append(a)
        }
        let t0 = ContinuousClock.now
        var deadLettered: [String: Int] = [:]
        for d in deliveries { if case .deadLetter(let reason, _) = d.kind { deadLettered[reason.code, default: 0] += 1 } }
        // A message a non-retriable error refused (too large for the broker, say) is the record's
        // own fault: its record is dead-lettered instead, shorter; if even that is refused, it is
        // noted in `dead_letter_audit`. Nothing here stops the processor.
        var refused = try await publish(deliveries)
        while !refused.isEmpty {
            var again: [Delivery] = []
            for (d, error) in refused {
                switch d.kind {
                case .event:
                    metrics.publishRefused("event").increment()
                    audit.drop(eventID: Self.eventID(d.record))
                    let reason = DeadLetterReason("publish_refused", "the event could not be published: \(error)")
                    again.append(deadLettering(d.record, reason))
                    deadLettered[reason.code, default: 0] += 1
                case .alert, .replay:
                    // The event is out (or was, before the replay): the record keeps its audit.
                    metrics.publishRefused(d.message.topic == configuration.escalationsTopic ? "alert" : "replay").increment()
                    logger.error("message refused by the broker; not retried", metadata: [
                        "kafka.topic": "\(d.message.topic)", "event.id": "\(Self.eventID(d.record))", "error": "\(error)"])
                case .deadLetter(let reason, cutDown: false):
                    metrics.publishRefused("dead_letter").increment()
                    let shorter = deadLetter(d.record, reason, valueLimit: 1024)
                    again.append(Delivery(message: shorter, record: d.record, kind: .deadLetter(reason, cutDown: true)))
                case .deadLetter(let reason, cutDown: true):
                    let name = error.rdKafkaName ?? error.code.description
                    logger.error("dead letter refused by the broker; noted in dead_letter_audit", metadata: [
                        "event.id": "\(Self.eventID(d.record))", "dlq.code": "\(reason.code)", "error": "\(name)"])
                    audit.deadLetters.append(DeadLetterRow(
                        sourceTopic: d.record.topic, sourcePartition: d.record.partition, sourceOffset: d.record.offset,
                        code: reason.code, reason: "\(reason.reason) (dead-letter topic refused it: \(name))",
                        valueBytes: d.record.value?.count ?? 0))
                }
            }
            refused = try await publish(again)
        }
        for (code, n) in deadLettered { metrics.deadLettered(code).increment(by: Int64(n)) }
        let t1 = ContinuousClock.now
        if configuration.recordLatencies {
            let acked = ContinuousClock.now
            for b in group { for t in b.receivedAt { stats.latencies.append((acked - t) / .seconds(1)) } }
        }
        if !audit.isEmpty {
            let audit = audit
            try await retrying("write audits") { try await self.writer.write(audit) }
            metrics.auditWrite.record(duration: ContinuousClock.now - t1)
            onAudited?(audit.audits)
        }
        let t2 = ContinuousClock.now
        let records = group.flatMap(\.records)
        do {
            try await retrying("commit offsets") { try await self.consumer.commit(records) }
        } catch let e as KafkaError where e.meansPartitionsMoved {
            // The group moved on while this batch was in flight (its partitions were lost). The
            // batch is published and audited; the next owner re-reads it and replays from the audits.
            logger.warning("offsets not committed: the partitions moved to a new generation; the next owner replays them",
                           metadata: ["error": "\(e)"])
        }

        if lastPrune.map({ ContinuousClock.now - $0 > .seconds(3600) }) ?? true {
            lastPrune = .now
            await housekeeping()
        }

        metrics.turns.increment(by: Int64(records.count))
        let events = audit.audits.count
        let dlq = deadLettered.values.reduce(0, +)
        let replayed = group.reduce(0) { $0 + $1.replays.count }
        metrics.events.increment(by: Int64(events))
        metrics.replayed.increment(by: Int64(replayed))
        let alerts = audit.escalations.count
        metrics.escalations.increment(by: Int64(alerts))
        for b in group {
            metrics.batchSize.record(b.records.count)
            metrics.batchLatency.record(duration: ContinuousClock.now - b.started)
        }
        metrics.coalescedBatches.record(group.count)
        progress.finished(records.count)
        stats.batches += group.count
        stats.finishRounds += 1
        stats.turns += records.count
        stats.events += events
        stats.replayed += replayed
        stats.deadLettered += dlq
        stats.alerts += alerts
        logger.debug("batches done", metadata: [
            "batch.count": "\(group.count)", "batch.size": "\(records.count)", "batch.dlq": "\(dlq)", "batch.replayed": "\(replayed)",
            "batch.alerts": "\(alerts)", "batch.publish_ms": "\(ms(t1 - t0))", "batch.audit_ms": "\(ms(t2 - t1))",
            "batch.commit_ms": "\(ms(ContinuousClock.now - t2))", "batch.total_ms": "\(ms(ContinuousClock.now - group[0].started))",
        ])
    }

    /// The batch's messages (events, alerts, replays, dead letters), its audit rows and dialogue
    /// states. An event that cannot be encoded, or would exceed the producer's `message.max.bytes`,
    /// dead-letters its record instead. Off the actor, so it overlaps the next batch's analysis.
    /// What leaves carries the text as its tenant's redaction policy leaves it: the audit's text,
    /// the explanation's words and the caller attributes of the event, its alert and its audit
    /// (the analysis ran on the original);
    /// a tenant whose texts are hashed gets no explanation words at all.
    nonisolated func encode(_ b: PreparedBatch) async throws -> ([Delivery], AuditBatch) {
        let encoder = EmotionEvent.encoder()
        let now = b.processedAt, processedAt = EmotionEvent.timestamp(now)
        let version = b.modelVersion
        let limit = configuration.validator.maxMessageBytes
        var deliveries: [Delivery] = []
        var batch = AuditBatch()
        let policies = tenantPolicies.policies
        var redactors: [String: Redactor] = [:], redactions: [String: Int] = [:]
        defer { for (entity, n) in redactions { metrics.redactions(entity).increment(by: Int64(n)) } }
        for (r, timed, analysis) in b.analyzed {
            let turn = timed.turn
            var event = EmotionEvent(turn: turn, prediction: analysis.prediction, modelVersion: version,
                                     eventID: Self.eventID(r), processedAt: processedAt)
            event.ts = EmotionEvent.timestamp(timed.timestamp)
            event.escalation = analysis.escalation
            let redactor = redactors[turn.tenant ?? ""] ?? policies.policy(for: turn.tenant).redactor()
            redactors[turn.tenant ?? ""] = redactor
            let text = redactor.redact(turn.text, explanation: analysis.explanation, into: &event)
            redactions.merge(event.redactions ?? [:], uniquingKeysWith: +)
            // A tenant whose texts are kept only as hashes gets no words of them anywhere, its
            // explanations' included (the turns that moved the risk stay).
            let hashed = policies.hashesTexts(of: turn.tenant, always: writer.configuration.hashTexts)
            if hashed { event.explanation?.words = [] }
            event.source = EmotionEvent.Source(topic: r.topic, partition: r.partition, offset: r.offset, timestampMs: r.timestampMs)
            let key = Array(turn.dialogueID.utf8)
            let json: [UInt8], alertJSON: Data?, attributesJSON: Data?
            do {
                attributesJSON = try event.attributes.map { try encoder.encode($0) }
                json = try event.jsonBytes(encoder: encoder, attributesJSON: attributesJSON)
                alertJSON = try analysis.escalation.flatMap { $0.alert ? try encoder.encode(EscalationAlert(event: event, escalation: $0, raisedAt: now)) : nil }
            } catch {
                let reason = DeadLetterReason("encoding_failed", "the event could not be encoded: \(error)")
                deliveries.append(deadLettering(r, reason))
                continue
            }
            let span = b.spans[event.eventID]
            span?.attributes["plutchik.model.version"] = version
            span?.attributes["plutchik.emotion"] = analysis.prediction.label.rawValue
            span?.attributes["plutchik.escalation.alert"] = analysis.escalation?.alert ?? false
            let trace = traceHeaders(r, span: span)
            let message = KafkaProducerMessage(topic: configuration.eventsTopic, key: key, value: json, headers: trace)
            guard message.approximateSize <= limit else {
                let reason = DeadLetterReason("event_too_large", "the event would be \(message.approximateSize) bytes; message.max.bytes is \(limit)")
                deliveries.append(deadLettering(r, reason))
                continue
            }
            deliveries.append(Delivery(message: message, record: r, kind: .event))
            let p = analysis.prediction
            batch.audits.append(AuditRow(
                eventID: event.eventID, sourceTopic: r.topic, sourcePartition: r.partition, sourceOffset: r.offset,
                dialogueID: turn.dialogueID, turnID: String(turn.turnID), speaker: turn.speaker, role: turn.role?.rawValue,
                tenant: turn.tenant, scenario: turn.scenario, topic: turn.topic, channel: turn.channel,
                attributesJSON: attributesJSON.map { String(decoding: $0, as: UTF8.self) }, text: text,
                emotion: p.label.rawValue, confidence: p.confidence, sector: p.label.sector.name, ring: p.label.ring.rawValue,
                sarcasm: p.sarcasm, intensity: p.intensity, neutral: p.neutral, isNeutral: p.isNeutral,
                escalationRisk: analysis.escalation?.risk,
                escalationAlert: analysis.escalation?.alert ?? false, modelVersion: version,
                turnTimestamp: timed.timestamp, processedAt: now, eventJSON: String(decoding: json, as: UTF8.self)))
            batch.audits[batch.audits.count - 1].hashText = hashed
            if let counts = event.redactions {
                batch.audits[batch.audits.count - 1].redactionsJSON = "{" + counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
            }
            if let shadow, let s = b.shadows[event.eventID] {
                batch.shadows.append(ShadowRow(
                    sourceTopic: r.topic, sourcePartition: r.partition, sourceOffset: r.offset, dialogueID: turn.dialogueID,
                    turnID: String(turn.turnID), modelVersion: shadow.modelVersion, emotion: s.prediction.label.rawValue,
                    confidence: s.prediction.confidence, sector: s.prediction.label.sector.name, sarcasm: s.prediction.sarcasm,
                    intensity: s.prediction.intensity, neutral: s.prediction.neutral, isNeutral: s.prediction.isNeutral,
                    escalationRisk: s.escalation?.risk, escalationAlert: s.escalation?.alert ?? false, processedAt: now))
            }
            if let esc = analysis.escalation, let alertJSON {
                deliveries.append(Delivery(message: KafkaProducerMessage(topic: configuration.escalationsTopic, key: key, value: Array(alertJSON),
                                                                         headers: trace),
                                           record: r, kind: .alert))
                batch.escalations.append(EscalationRow(
                    eventID: event.eventID, dialogueID: turn.dialogueID, turnID: String(turn.turnID), tenant: turn.tenant,
                    risk: esc.risk, horizonSeconds: Float(esc.horizonSeconds), trend: esc.trend.rawValue,
                    alertJSON: String(decoding: alertJSON, as: UTF8.self), raisedAt: now))
            }
        }
        for (r, m) in b.replays { deliveries.append(Delivery(message: m, record: r, kind: .replay)) }
        for (r, reason) in b.deadLetters { deliveries.append(deadLettering(r, reason)) }
        for (id, r, turnAt, s) in b.states {
            batch.states.append(DialogueStateRow(dialogueID: id, sourceTopic: r.topic, sourcePartition: r.partition,
                                                 lastOffset: r.offset, state: s, lastTurnAt: turnAt,
                                                 stateFormat: analyzer.stateFormat, modelVersion: version))
        }
        return (deliveries, batch)
    }

    /// The trace headers of a turn's event and alert: its span's context when the processor traces,
    /// else the record's own trace context passed on (``traceHeaders(_:)``).
    nonisolated func traceHeaders(_ record: KafkaRecord, span: (any Tracing.Span)?) -> [KafkaHeader] {
        guard let tracer, let span else { return Self.traceHeaders(record) }
        var headers: [KafkaHeader] = []
        tracer.inject(span.context, into: &headers, using: KafkaHeadersInjector())
        return headers
    }

    /// The record's W3C trace context (`traceparent`, and `tracestate` with it), for its event and
    /// alert, so a trace that followed the turn into Kafka continues past the processor. A
    /// `traceparent` that is not `version-traceid-parentid-flags` in lowercase hex is not passed on.
    static func traceHeaders(_ record: KafkaRecord) -> [KafkaHeader] {
        guard let parent = record.header("traceparent"), isTraceParent(parent) else { return [] }
        var out = [KafkaHeader(key: "traceparent", string: parent)]
        if let state = record.header("tracestate"), state.utf8.count <= 512 { out.append(KafkaHeader(key: "tracestate", string: state)) }
        return out
    }

    static func isTraceParent(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16, parts[3].count == 2, parts[0] != "ff",
              parts[0] != "00" || parts.count == 4 else { return false }
        let hex = parts.prefix(4).allSatisfy { $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } }
        return hex && parts[1] != String(repeating: "0", count: 32) && parts[2] != String(repeating: "0", count: 16)
    }

    /// About hourly: deletes dormant dialogue states, creates the audit partitions of the coming
    /// months and drops those past the retention. A failure is logged and tried again next time.
    func housekeeping() async {
        if let retention = configuration.stateRetention {
            do {
                let n = try await writer.pruneStates(olderThan: retention)
                logger.info("dormant dialogue states pruned", metadata: ["dialogue.count": "\(n)"])
            } catch {
                logger.warning("pruning dialogue states failed; will try again", metadata: ["error": "\(error)"])
            }
        }
        do {
            let dropped = try await writer.maintainAuditPartitions(retentionMonths: configuration.auditRetentionMonths)
            if dropped > 0 {
                logger.info("audit partitions past the retention dropped", metadata: [
                    "audit.partitions": "\(dropped)", "audit.retention_months": "\(configuration.auditRetentionMonths)",
                ])
            }
        } catch {
            logger.warning("maintaining the audit partitions failed; will try again", metadata: ["error": "\(error)"])
        }
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
