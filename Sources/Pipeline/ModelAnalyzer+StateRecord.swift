import Contracts
import Emotion
import Escalation

extension ModelAnalyzer.State {
    /// The first bytes of a binary state record: `PDS2` (counts and integers as varints, written
    /// since 2026-12-06) or `PDS1` (fixed-width, still read).
    static let binaryMagic = Array("PDS2".utf8)
    static let fixedWidthMagic = Array("PDS1".utf8)

    /// The state as `PDS2` followed by its fields, little-endian: about 890 bytes for a dialogue
    /// of one turn, 925 once it has eight recent risk moves (`PDS1`: 930 and 1,010).
    /// (`integers: .fixedWidth` writes `PDS1`, for tests of the old format.)
    func binaryRecord(integers: BinaryIntegers = .varint) -> [UInt8] {
        var w = BinaryWriter(capacity: 960, integers: integers)
        for b in integers == .varint ? Self.binaryMagic : Self.fixedWidthMagic { w.write(b) }
        context.write(to: &w)
        escalation.write(to: &w)
        w.write(lastRisk) { $0.write($1) }
        w.write(recentRiskChanges) { w, moves in
            w.write(array: moves) { w, m in
                w.write(integer: m.turnID)
                w.write(m.riskChange)
            }
        }
        return w.bytes
    }

    /// Whether `bytes` start like ``binaryRecord()`` or its `PDS1` predecessor.
    static func isBinaryRecord(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: binaryMagic) || bytes.starts(with: fixedWidthMagic)
    }

    /// Reads ``binaryRecord()`` or a `PDS1` record; throws on a truncated, malformed or over-long one.
    init(binaryRecord bytes: [UInt8]) throws {
        let integers: BinaryIntegers = bytes.starts(with: Self.binaryMagic) ? .varint : .fixedWidth
        var r = BinaryReader(bytes, offset: Self.binaryMagic.count, integers: integers)
        context = try DialogueContext(reading: &r)
        escalation = try EscalationState(reading: &r)
        lastRisk = try r.readOptional { try $0.read(Float.self) }
        recentRiskChanges = try r.readOptional { r in
            try r.readArray(elementSize: integers == .varint ? 5 : 12) { r in
                Explanation.RiskMove(turnID: try r.readInteger(), riskChange: try r.read(Float.self))
            }
        }
        try r.expectEnd()
    }
}
