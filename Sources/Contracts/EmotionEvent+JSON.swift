import Foundation

extension EmotionEvent {
    /// The event's JSON, byte for byte what ``encoder()`` gives, written directly (about ten times
    /// faster: the stream encodes one per turn). `attributes` and `explanation` go through
    /// `encoder`, whose options must be ``encoder()``'s; pass `attributesJSON` when the caller has
    /// already encoded the attributes with it.
    public func jsonBytes(encoder: JSONEncoder, attributesJSON: Data? = nil) throws -> [UInt8] {
        var w = JSONWriter(capacity: 1_536)
        w.beginObject()   // keys in sorted order
        if let attributes { w.key("attributes"); w.raw(try attributesJSON ?? encoder.encode(attributes)) }
        if let channel { w.key("channel"); w.string(channel) }
        w.key("dialogue_id"); w.string(dialogueID)
        w.key("emotion"); w.beginObject()
        w.key("confidence"); try w.number(emotion.confidence)
        w.key("is_neutral"); w.bool(emotion.isNeutral)
        w.key("label"); w.string(emotion.label.rawValue)
        w.key("neutral"); try w.number(emotion.neutral)
        w.key("probs"); try Self.write(emotion.probs, to: &w)
        w.key("ring"); w.string(emotion.ring.rawValue)
        w.key("sector"); w.string(emotion.sector)
        w.endObject()
        if let e = escalation {
            w.key("escalation"); w.beginObject()
            w.key("alert"); w.bool(e.alert)
            w.key("horizon_risk"); try w.number(e.riskHorizon)
            w.key("horizon_s"); try w.number(e.horizonSeconds)
            w.key("risk"); try w.number(e.risk)
            if let t = e.timeToEscalationSeconds { w.key("time_to_escalation_s"); try w.number(t) }
            w.key("trend"); w.string(e.trend.rawValue)
            w.endObject()
        }
        w.key("event_id"); w.string(eventID)
        if let explanation { w.key("explanation"); w.raw(try encoder.encode(explanation)) }
        w.key("intensity"); try w.number(intensity)
        w.key("model"); w.beginObject(); w.key("version"); w.string(model.version); w.endObject()
        w.key("primaries"); try Self.write(primaries, to: &w)
        w.key("processed_at"); w.string(processedAt)
        if let redactions {
            w.key("redactions"); w.beginObject()
            for (k, n) in redactions.sorted(by: { $0.key < $1.key }) { w.key(k); w.number(n) }
            w.endObject()
        }
        w.key("role"); w.string(role.rawValue)
        w.key("sarcasm"); w.beginObject(); w.key("probability"); try w.number(sarcasm.probability); w.endObject()
        if let scenario { w.key("scenario"); w.string(scenario) }
        if let s = source {
            w.key("source"); w.beginObject()
            w.key("offset"); w.number(s.offset)
            w.key("partition"); w.number(s.partition)
            if let t = s.timestampMs { w.key("timestamp_ms"); w.number(t) }
            w.key("topic"); w.string(s.topic)
            w.endObject()
        }
        w.key("speaker"); w.string(speaker)
        if let tenant { w.key("tenant"); w.string(tenant) }
        if let topic { w.key("topic"); w.string(topic) }
        if let ts { w.key("ts"); w.string(ts) }
        w.key("turn_id"); w.number(turnID)
        w.endObject()
        return w.bytes
    }

    /// A name → score object; the names are lower-case ASCII words, so byte order is the
    /// encoder's sorted order.
    private static func write(_ scores: [String: Float], to w: inout JSONWriter) throws {
        w.beginObject()
        for (k, v) in scores.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            w.key(k); try w.number(v)
        }
        w.endObject()
    }
}
