import Contracts

extension Redactor {
    /// `value` with every string in it redacted, through arrays and objects (object keys are
    /// kept), and an integer whose digits hold a finding (a card number sent as a JSON number)
    /// replaced by its redacted text: a turn's caller attributes as they may leave the process.
    /// The findings are added to `counts`.
    public func redact(_ value: AnyJSON, counts: inout [String: Int]) -> AnyJSON {
        let text: String
        switch value {
        case .string(let s): text = s
        case .integer(let i): text = String(i)
        case .array(let a): return .array(a.map { redact($0, counts: &counts) })
        case .object(let o): return .object(o.mapValues { redact($0, counts: &counts) })
        case .null, .bool, .number: return value
        }
        let r = redact(text)
        guard !r.counts.isEmpty else { return value }
        counts.merge(r.counts, uniquingKeysWith: +)
        return .string(r.text)
    }
}
