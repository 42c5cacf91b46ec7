import Foundation

/// One processed turn, as written to `emotion_audit`.
public struct AuditRow: Sendable, Hashable {
    public var eventID: String
    public var sourceTopic: String
    public var sourcePartition: Int32
    public var sourceOffset: Int64
    public var dialogueID: String
    public var turnID: String
    public var speaker: String
    public var role: String?
    public var tenant: String?
    public var scenario: String?
    public var topic: String?
    public var channel: String?
    /// The turn's caller attributes as a JSON object (`attributes` jsonb), nil when it has none.
    public var attributesJSON: String?
    /// What the redactor replaced in `text`, entity → count, as a JSON object (`redactions`
    /// jsonb), nil when nothing.
    public var redactionsJSON: String?
    /// The turn's text; the store keeps only its SHA-256 when ``hashText`` (or, without one,
    /// ``AuditWriter/Configuration/hashTexts``) says so.
    public var text: String
    /// Keep only this row's text hash (true) or its text too (false), resolved once where the row
    /// is built (the stream processor: the global flag or the tenant's policy); nil follows
    /// ``AuditWriter/Configuration/hashTexts``. The live web view shows (and re-analyses) the text
    /// only of rows where it is `false`.
    public var hashText: Bool?
    public var emotion: String
    public var confidence: Float
    public var sector: String
    public var ring: String
    public var sarcasm: Float
    public var intensity: Float
    /// The neutral gate's probability and verdict (nil from a model without the gate).
    public var neutral: Float?
    public var isNeutral: Bool
    public var escalationRisk: Float?
    public var escalationAlert: Bool
    public var modelVersion: String
    public var turnTimestamp: Date
    public var processedAt: Date
    /// The event exactly as published (JSON), so a replay can re-publish it unchanged.
    public var eventJSON: String

    public init(eventID: String, sourceTopic: String, sourcePartition: Int32, sourceOffset: Int64,
                dialogueID: String, turnID: String, speaker: String, role: String? = nil,
                tenant: String? = nil, scenario: String? = nil, topic: String? = nil, channel: String? = nil,
                attributesJSON: String? = nil, text: String, emotion: String, confidence: Float, sector: String, ring: String,
                sarcasm: Float, intensity: Float, neutral: Float? = nil, isNeutral: Bool = false,
                escalationRisk: Float? = nil, escalationAlert: Bool = false,
                modelVersion: String, turnTimestamp: Date, processedAt: Date, eventJSON: String) {
        self.eventID = eventID
        self.sourceTopic = sourceTopic
        self.sourcePartition = sourcePartition
        self.sourceOffset = sourceOffset
        self.dialogueID = dialogueID
        self.turnID = turnID
        self.speaker = speaker
        self.role = role
        self.tenant = tenant
        self.scenario = scenario
        self.topic = topic
        self.channel = channel
        self.attributesJSON = attributesJSON
        self.text = text
        self.emotion = emotion
        self.confidence = confidence
        self.sector = sector
        self.ring = ring
        self.sarcasm = sarcasm
        self.intensity = intensity
        self.neutral = neutral
        self.isNeutral = isNeutral
        self.escalationRisk = escalationRisk
        self.escalationAlert = escalationAlert
        self.modelVersion = modelVersion
        self.turnTimestamp = turnTimestamp
        self.processedAt = processedAt
        self.eventJSON = eventJSON
    }
}

/// A dialogue's compact state after its last applied turn, as written to `dialogue_state`.
public struct DialogueStateRow: Sendable, Hashable {
    /// The dialogue's state key (`Turn.stateKey`): its id, prefixed with its tenant and U+001F when
    /// its turns name one, so rows written before tenants were part of the key read as the
    /// default tenant's (turns without a tenant).
    public var dialogueID: String
    public var sourceTopic: String
    public var sourcePartition: Int32
    /// The offset of the last turn applied to ``state``.
    public var lastOffset: Int64
    public var state: [UInt8]
    /// The time of that turn (nil in rows written before migration 002).
    public var lastTurnAt: Date?

    /// The format of ``state``'s bytes, as the analyzer that wrote them numbers it (0: untagged).
    public var stateFormat: Int
    /// The model that wrote the state (nil: untagged).
    public var modelVersion: String?

    public init(dialogueID: String, sourceTopic: String, sourcePartition: Int32, lastOffset: Int64, state: [UInt8], lastTurnAt: Date? = nil,
                stateFormat: Int = 0, modelVersion: String? = nil) {
        self.dialogueID = dialogueID
        self.sourceTopic = sourceTopic
        self.sourcePartition = sourcePartition
        self.lastOffset = lastOffset
        self.state = state
        self.lastTurnAt = lastTurnAt
        self.stateFormat = stateFormat
        self.modelVersion = modelVersion
    }
}

/// An escalation alert, as written to `escalation_event`.
public struct EscalationRow: Sendable, Hashable {
    public var eventID: String
    public var dialogueID: String
    public var turnID: String
    public var tenant: String?
    public var risk: Float
    public var horizonSeconds: Float?
    public var trend: String?
    public var alertJSON: String
    public var raisedAt: Date

    public init(eventID: String, dialogueID: String, turnID: String, tenant: String?, risk: Float,
                horizonSeconds: Float?, trend: String?, alertJSON: String, raisedAt: Date) {
        self.eventID = eventID
        self.dialogueID = dialogueID
        self.turnID = turnID
        self.tenant = tenant
        self.risk = risk
        self.horizonSeconds = horizonSeconds
        self.trend = trend
        self.alertJSON = alertJSON
        self.raisedAt = raisedAt
    }
}

/// A shadow model's prediction for one turn (`--shadow-model`), as written to `emotion_audit_shadow`.
public struct ShadowRow: Sendable, Hashable {
    public var sourceTopic: String
    public var sourcePartition: Int32
    public var sourceOffset: Int64
    public var dialogueID: String
    public var turnID: String
    public var modelVersion: String
    public var emotion: String
    public var confidence: Float
    public var sector: String
    public var sarcasm: Float
    public var intensity: Float
    public var neutral: Float?
    public var isNeutral: Bool
    public var escalationRisk: Float?
    public var escalationAlert: Bool
    public var processedAt: Date

    public init(sourceTopic: String, sourcePartition: Int32, sourceOffset: Int64, dialogueID: String, turnID: String,
                modelVersion: String, emotion: String, confidence: Float, sector: String, sarcasm: Float, intensity: Float,
                neutral: Float?, isNeutral: Bool, escalationRisk: Float?, escalationAlert: Bool, processedAt: Date) {
        self.sourceTopic = sourceTopic; self.sourcePartition = sourcePartition; self.sourceOffset = sourceOffset
        self.dialogueID = dialogueID; self.turnID = turnID; self.modelVersion = modelVersion
        self.emotion = emotion; self.confidence = confidence; self.sector = sector; self.sarcasm = sarcasm; self.intensity = intensity
        self.neutral = neutral; self.isNeutral = isNeutral; self.escalationRisk = escalationRisk; self.escalationAlert = escalationAlert
        self.processedAt = processedAt
    }
}

/// What one processed micro-batch writes, in one transaction.
public struct AuditBatch: Sendable {
    public var audits: [AuditRow] = []
    public var states: [DialogueStateRow] = []
    public var escalations: [EscalationRow] = []
    /// A shadow model's predictions of the batch's turns (written only to `emotion_audit_shadow`).
    public var shadows: [ShadowRow] = []

    public var deadLetters: [DeadLetterRow] = []

    public init(audits: [AuditRow] = [], states: [DialogueStateRow] = [], escalations: [EscalationRow] = [],
                deadLetters: [DeadLetterRow] = []) {
        self.audits = audits
        self.states = states
        self.escalations = escalations
        self.deadLetters = deadLetters
    }

    /// Appends a later batch's rows; its dialogue states replace this batch's of the same dialogues
    /// (one transaction may carry several batches, and a dialogue's row is written once).
    public mutating func append(_ later: AuditBatch) {
        audits += later.audits
        escalations += later.escalations
        shadows += later.shadows
        deadLetters += later.deadLetters
        if !states.isEmpty {
            let replaced = Set(later.states.map(\.dialogueID))
            states.removeAll { replaced.contains($0.dialogueID) }
        }
        states += later.states
    }

    /// Removes the audit and escalation rows of one event (its record is dead-lettered instead).
    public mutating func drop(eventID: String) {
        guard let audit = audits.first(where: { $0.eventID == eventID }) else { return }
        audits.removeAll { $0.eventID == eventID }
        escalations.removeAll { $0.eventID == eventID }
        shadows.removeAll {
            $0.sourceTopic == audit.sourceTopic && $0.sourcePartition == audit.sourcePartition && $0.sourceOffset == audit.sourceOffset
        }
    }

    /// Whether there is nothing to write.
    public var isEmpty: Bool { audits.isEmpty && states.isEmpty && escalations.isEmpty && deadLetters.isEmpty && shadows.isEmpty }
}

/// A record that could not be published to the dead-letter topic (`dead_letter_audit`).
public struct DeadLetterRow: Sendable, Hashable {
    public var sourceTopic: String
    public var sourcePartition: Int32
    public var sourceOffset: Int64
    public var code: String
    public var reason: String
    /// The record value's size.
    public var valueBytes: Int

    public init(sourceTopic: String, sourcePartition: Int32, sourceOffset: Int64, code: String, reason: String, valueBytes: Int) {
        self.sourceTopic = sourceTopic
        self.sourcePartition = sourcePartition
        self.sourceOffset = sourceOffset
        self.code = code
        self.reason = reason
        self.valueBytes = valueBytes
    }
}
