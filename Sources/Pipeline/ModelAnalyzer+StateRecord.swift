import Contracts
import Emotion
import Escalation

extension ModelAnalyzer.State {
    /// The first bytes of a binary state record.
    static let binaryMagic = Array("PDS1".utf8)

    /// The state as `PDS1` followed by its fields, little-endian.
    func binaryRecord() -> [UInt8] {
        var w = BinaryWriter(capacity: 1_024)
        for b in Self.binaryMagic { w.write(b) }
        context.write(to: &w)
        escalation.write(to: &w)
        w.write(lastRisk) { $0.write($1) }
        w.write(recentRiskChanges) { w, moves in
            w.write(array: moves) { w, m in
                w.write(Int64(m.turnID))
                w.write(m.riskChange)
            }
        }
        return w.bytes
    }

    /// Reads ``binaryRecord()``; throws on a truncated, malformed or over-long record.
    init(binaryRecord bytes: [UInt8]) throws {
        var r = BinaryReader(bytes, offset: Self.binaryMagic.count)
        context = try DialogueContext(reading: &r)
        escalation = try EscalationState(reading: &r)
        lastRisk = try r.readOptional { try $0.read(Float.self) }
        recentRiskChanges = try r.readOptional { r in
            try r.readArray(elementSize: 12) { r in
                Explanation.RiskMove(turnID: Int(try r.read(Int64.self)), riskChange: try r.read(Float.self))
            }
        }
        try r.expectEnd()
    }
}
