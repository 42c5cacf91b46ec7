import AuditStore
import Foundation
import Synchronization

/// The recent dialogues the live web view shows, fed with each batch's audit rows once their
/// transaction has committed (``record(_:)``), bounded in dialogues, turns per dialogue and bytes
/// (the least recently updated dialogues go first).
public final class LiveDialogues: Sendable {
    /// One audited turn, as the view shows it.
    public struct TurnView: Sendable {
        public var turnID: String
        public var speaker: String
        public var role: String?
        /// The text, unless the privacy rule keeps only its hash (``AuditRow/hashText`` not `false`):
        /// then neither it nor the words of its explanation are shown, and it is never re-analysed.
        public var text: String?
        public var emotion: String
        public var confidence: Float
        public var sector: String
        public var sarcasm: Float
        public var intensity: Float
        public var neutral: Float?
        public var isNeutral: Bool
        public var risk: Float?
        public var alert: Bool
        /// When the turn was said, and when its audit committed.
        public var at: Date
        public var auditedAt: Date
        /// The event as published (its primaries and explanation are read from it when shown).
        public var eventJSON: String

        /// About what the turn holds in memory: its strings and a fixed part for the rest.
        var bytes: Int {
            160 + turnID.utf8.count + speaker.utf8.count + (role?.utf8.count ?? 0) + (text?.utf8.count ?? 0) + emotion.utf8.count
                + sector.utf8.count + eventJSON.utf8.count
        }
    }

    /// A dialogue's identity: its tenant (nil: a turn without one) and its id. Two tenants' dialogues
    /// with the same id are two dialogues.
    public struct Key: Hashable, Sendable {
        public var tenant: String?
        public var id: String

        public init(tenant: String?, id: String) {
            self.tenant = tenant
            self.id = id
        }
    }

    /// One dialogue and its latest turns, oldest first.
    public struct DialogueView: Sendable {
        public var id: String
        public var tenant: String?
        public var key: Key { Key(tenant: tenant, id: id) }
        public var turns: [TurnView]
        /// Turns seen in all (``turns`` keeps the latest only) and alerts among them.
        public var turnCount: Int
        public var alerts: Int
        public var updated: Date

        /// About what the dialogue holds in memory (see ``TurnView``).
        var bytes = 0

        /// Adds `turn`, dropping the oldest beyond `maxTurns`; returns the change in ``bytes``.
        @discardableResult
        mutating func add(_ turn: TurnView, maxTurns: Int) -> Int {
            let before = bytes
            if turns.isEmpty { bytes = 128 + id.utf8.count + (tenant?.utf8.count ?? 0) }
            turns.append(turn)
            bytes += turn.bytes
            if turns.count > maxTurns {
                let dropped = turns.count - maxTurns
                bytes -= turns.prefix(dropped).reduce(0) { $0 + $1.bytes }
                turns.removeFirst(dropped)
            }
            turnCount += 1
            if turn.alert { alerts += 1 }
            updated = turn.auditedAt
            return bytes - before
        }

        /// When it was last updated, in ``LiveDialogues``' own sequence (for its recency order).
        var stamp = 0

        /// The latest escalation risk (0 without a forecast).
        public var risk: Float { turns.last?.risk ?? 0 }
    }

    struct State {
        var dialogues: [Key: DialogueView] = [:]
        /// Each update's dialogue and stamp, oldest first from `recencyStart`; an entry whose stamp
        /// is no longer its dialogue's is stale. The first live entry is the least recently updated.
        var recency: [(key: Key, stamp: Int)] = []
        var recencyStart = 0
        var nextStamp = 0
        var version = 0
        /// The sum of the dialogues' ``DialogueView/bytes``.
        var bytes = 0
        var subscribers: [Int: AsyncStream<Int>.Continuation] = [:]
        var nextSubscriber = 0
        var closed = false

        /// Marks `key` as just updated.
        mutating func touch(_ key: Key) {
            nextStamp += 1
            dialogues[key]?.stamp = nextStamp
            recency.append((key, nextStamp))
            // Dropping the stale entries costs time in proportion to the entries added since the last time.
            if recency.count - recencyStart > 4 * dialogues.count + 64 {
                recency = recency[recencyStart...].filter { dialogues[$0.key]?.stamp == $0.stamp }
                recencyStart = 0
            }
        }

        /// Drops the least recently updated dialogue.
        mutating func evictLeastRecent() {
            while recencyStart < recency.count {
                let (key, stamp) = recency[recencyStart]
                recencyStart += 1
                if dialogues[key]?.stamp == stamp {
                    bytes -= dialogues.removeValue(forKey: key)?.bytes ?? 0
                    return
                }
            }
        }
    }

    private let state = Mutex(State())
    let maxDialogues: Int
    let maxTurns: Int
    let maxBytes: Int

    /// - Parameter maxBytes: the memory the kept turns may take, about (texts, events and a fixed
    ///   part per turn); beyond it the least recently updated dialogues go.
    public init(maxDialogues: Int = 2_000, maxTurnsPerDialogue: Int = 200, maxBytes: Int = 256 << 20) {
        self.maxDialogues = max(1, maxDialogues)
        self.maxTurns = max(1, maxTurnsPerDialogue)
        self.maxBytes = max(1, maxBytes)
    }

    /// About the memory the kept dialogues take.
    public var bytes: Int { state.withLock { $0.bytes } }

    /// ``record(_:)`` as a closure, for `StreamProcessor`'s `onAudited`.
    public var recorder: @Sendable ([AuditRow]) -> Void { { self.record($0) } }

    /// Adds a batch's audited turns and wakes the live pages.
    public func record(_ rows: [AuditRow]) {
        guard !rows.isEmpty else { return }
        let now = Date()
        // The pages are woken after the lock is let go: this runs on the stream's commit path.
        let (version, subscribers) = state.withLock { s in
            for r in rows {
                let turn = TurnView(turnID: r.turnID, speaker: r.speaker, role: r.role, text: r.hashText == false ? r.text : nil,
                                    emotion: r.emotion, confidence: r.confidence, sector: r.sector, sarcasm: r.sarcasm,
                                    intensity: r.intensity, neutral: r.neutral, isNeutral: r.isNeutral, risk: r.escalationRisk,
                                    alert: r.escalationAlert, at: r.turnTimestamp, auditedAt: now, eventJSON: r.eventJSON)
                let key = Key(tenant: r.tenant, id: r.dialogueID)
                if s.dialogues[key] == nil {
                    if s.dialogues.count >= maxDialogues { s.evictLeastRecent() }
                    s.dialogues[key] = DialogueView(id: r.dialogueID, tenant: r.tenant, turns: [], turnCount: 0, alerts: 0, updated: now)
                }
                // In place: a copy of the dialogue would copy its turns.
                s.bytes += s.dialogues[key]?.add(turn, maxTurns: maxTurns) ?? 0
                s.touch(key)
                while s.bytes > maxBytes, s.dialogues.count > 1 { s.evictLeastRecent() }
            }
            s.version += 1
            return (s.version, Array(s.subscribers.values))
        }
        for c in subscribers { c.yield(version) }
    }

    /// How many event streams are subscribed (the live pages open).
    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// The dialogues `tenant` may see (``APIKeys/allTenants``: every one, or those of `filter`),
    /// highest escalation risk first.
    public func list(tenant: String, filter: String? = nil) -> [DialogueView] {
        let wanted = tenant == APIKeys.allTenants ? filter : tenant
        return state.withLock { s in
            s.dialogues.values.filter { wanted == nil || $0.tenant == wanted }
        }.sorted { ($0.risk, $0.updated, $0.id, $0.tenant ?? "") > ($1.risk, $1.updated, $1.id, $1.tenant ?? "") }
    }

    /// One dialogue, if a key of `caller` may see it: `key`'s tenant is the caller's (or the caller
    /// is ``APIKeys/allTenants``).
    public func dialogue(_ key: Key, caller: String) -> DialogueView? {
        guard caller == APIKeys.allTenants || key.tenant == caller else { return nil }
        return state.withLock { $0.dialogues[key] }
    }

    /// The tenants seen, for the view's filter.
    public var tenants: [String] {
        state.withLock { s in Set(s.dialogues.values.compactMap(\.tenant)) }.sorted()
    }

    /// A stream of versions, one after each ``record(_:)`` (the latest only, when the reader is slow).
    func updates() -> AsyncStream<Int> {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        let id: Int? = state.withLock { s in
            guard !s.closed else { return nil }
            defer { s.nextSubscriber += 1 }
            s.subscribers[s.nextSubscriber] = continuation
            return s.nextSubscriber
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every stream of ``updates()``, now and later (the server is stopping).
    func close() {
        let subscribers = state.withLock { s in
            s.closed = true
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for c in subscribers { c.finish() }
    }
}
