import Contracts
import Foundation
import Pipeline

/// A `POST /v1/analyze` body, every turn validated as the stream validates records: one turn in
/// the turn schema, or `{"turns": [...]}`, one dialogue of up to ``GatewayConfiguration/maxTurns``
/// turns in order.
struct AnalyzeRequest {
    var turns: [TimedTurn]
    /// Whether the body was a dialogue (`{"turns": [...]}`) rather than one turn.
    var isDialogue: Bool

    /// Parses and validates `body` for a caller of `tenant` (``APIKeys/allTenants``: any).
    ///
    /// A turn without a `tenant` gets the caller's; a turn naming another tenant is refused, as
    /// are the turns of one request that name different dialogues.
    /// - Throws: ``GatewayError`` naming the field at fault (`turns[2].text`).
    static func parse(_ body: [UInt8], tenant: String, configuration: GatewayConfiguration, now: Date = Date()) throws(GatewayError) -> AnalyzeRequest {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) } catch {
            throw GatewayError(.invalidRequest, "the body is not JSON", field: "body")
        }
        guard let dictionary = object as? [String: Any] else {
            throw GatewayError(.invalidRequest, "the body must be a turn object or {\"turns\": [...]}", field: "body")
        }
        let nowMs = Int64((now.timeIntervalSince1970 * 1000).rounded())
        var raw: [(field: String, bytes: [UInt8])]
        let isDialogue = dictionary["turns"] != nil
        if isDialogue {
            guard dictionary.count == 1, let list = dictionary["turns"] as? [Any] else {
                throw GatewayError(.invalidRequest, "a dialogue is {\"turns\": [turn, ...]} and nothing else", field: "turns")
            }
            guard !list.isEmpty else { throw GatewayError(.invalidRequest, "turns is empty; send 1 to \(configuration.maxTurns)", field: "turns") }
            guard list.count <= configuration.maxTurns else {
                throw GatewayError(.tooManyTurns, "\(list.count) turns; a request carries at most \(configuration.maxTurns)", field: "turns")
            }
            raw = []
            for (i, item) in list.enumerated() {
                guard item is [String: Any], let bytes = try? JSONSerialization.data(withJSONObject: item) else {
                    throw GatewayError(.invalidTurn, "turn \(i) is not an object", field: "turns[\(i)]")
                }
                raw.append(("turns[\(i)]", Array(bytes)))
            }
        } else {
            raw = [("", body)]
        }
        var turns: [TimedTurn] = []
        for (prefix, bytes) in raw {
            func name(_ field: String?) -> String {
                guard let field else { return prefix.isEmpty ? "body" : prefix }
                return prefix.isEmpty ? field : "\(prefix).\(field)"
            }
            var timed: TimedTurn
            do { timed = try configuration.validator.validate(bytes, recordTimestampMs: nowMs, now: now) } catch {
                throw GatewayError(.invalidTurn, error.reason, field: name(error.field))
            }
            if let own = timed.turn.tenant {
                guard tenant == APIKeys.allTenants || own == tenant else {
                    throw GatewayError(.forbidden, "this key belongs to another tenant than '\(own)'", field: name("tenant"))
                }
            } else if tenant != APIKeys.allTenants {
                timed.turn.tenant = tenant
            }
            if let first = turns.first, first.turn.dialogueID != timed.turn.dialogueID {
                throw GatewayError(.invalidTurn, "every turn of a request belongs to dialogue '\(first.turn.dialogueID)'", field: name("dialogue_id"))
            }
            turns.append(timed)
        }
        return AnalyzeRequest(turns: turns, isDialogue: isDialogue)
    }
}
