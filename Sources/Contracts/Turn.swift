import Foundation

/// One conversation turn as it enters the processor (`Schemas/turn.schema.json`).
public struct Turn: Sendable, Codable, Equatable {
    /// The role of a speaker.
    public enum Role: String, Sendable, Codable, CaseIterable { case customer, agent, bot, other }

    /// The longest accepted text, in characters.
    public static let maxTextLength = 5_000

    public var dialogueID: String

    /// The key of the dialogue's state: its id, or for a turn with a tenant the tenant, U+001F and
    /// the id. Two tenants' dialogues with the same id never share a state; a turn without a tenant
    /// keys as before (the default tenant). A valid tenant holds no control character, so the key
    /// is unambiguous.
    public var stateKey: String { tenant.map { "\($0)\u{1F}\(dialogueID)" } ?? dialogueID }
    public var turnID: Int
    public var speaker: String
    public var role: Role?
    public var text: String
    /// When the turn was said: RFC 3339 text or epoch milliseconds, as given.
    public var ts: Timestamp?
    public var tenant: String?
    public var scenario: String?
    public var topic: String?
    public var channel: String?
    /// The record's fields beyond the turn schema (a platform's queue, agent or interaction id,
    /// language…), carried into the event and the audit unchanged.
    public var attributes: [String: AnyJSON] = [:]

    /// A timestamp as the input gave it.
    public enum Timestamp: Sendable, Codable, Equatable {
        case rfc3339(String)
        case epochMilliseconds(Int64)

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let ms = try? c.decode(Int64.self) { self = .epochMilliseconds(ms) } else { self = .rfc3339(try c.decode(String.self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .rfc3339(let s): try c.encode(s)
            case .epochMilliseconds(let ms): try c.encode(ms)
            }
        }
        /// The instant, or nil for a string that is not an RFC 3339 date-time.
        public var date: Date? {
            switch self {
            case .epochMilliseconds(let ms): Date(timeIntervalSince1970: Double(ms) / 1000)
            case .rfc3339(let s): RFC3339.date(s)
            }
        }
    }

    public init(dialogueID: String, turnID: Int, speaker: String, role: Role? = nil, text: String, ts: Timestamp? = nil,
                tenant: String? = nil, scenario: String? = nil, topic: String? = nil, channel: String? = nil,
                attributes: [String: AnyJSON] = [:]) {
        self.dialogueID = dialogueID; self.turnID = turnID; self.speaker = speaker; self.role = role; self.text = text
        self.ts = ts; self.tenant = tenant; self.scenario = scenario; self.topic = topic; self.channel = channel
        self.attributes = attributes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dialogueID = "dialogue_id", turnID = "turn_id", speaker, role, text, ts, tenant, scenario, topic, channel
    }

    /// The schema's own field names; every other field of a record is an attribute.
    static let schemaKeys = Set(CodingKeys.allCases.map(\.rawValue))

    /// Decodes the schema's fields (use ``parse(_:maxTextLength:)`` to validate a record and keep its attributes).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dialogueID: try c.decode(String.self, forKey: .dialogueID), turnID: try c.decode(Int.self, forKey: .turnID),
                  speaker: try c.decode(String.self, forKey: .speaker), role: try c.decodeIfPresent(Role.self, forKey: .role),
                  text: try c.decode(String.self, forKey: .text), ts: try c.decodeIfPresent(Timestamp.self, forKey: .ts),
                  tenant: try c.decodeIfPresent(String.self, forKey: .tenant), scenario: try c.decodeIfPresent(String.self, forKey: .scenario),
                  topic: try c.decodeIfPresent(String.self, forKey: .topic), channel: try c.decodeIfPresent(String.self, forKey: .channel))
    }

    /// Encodes the record as it came: the schema's fields, then the attributes beside them.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AttributeKey.self)
        try c.encode(dialogueID, forKey: AttributeKey(CodingKeys.dialogueID.rawValue))
        try c.encode(turnID, forKey: AttributeKey(CodingKeys.turnID.rawValue))
        try c.encode(speaker, forKey: AttributeKey(CodingKeys.speaker.rawValue))
        try c.encodeIfPresent(role, forKey: AttributeKey(CodingKeys.role.rawValue))
        try c.encode(text, forKey: AttributeKey(CodingKeys.text.rawValue))
        try c.encodeIfPresent(ts, forKey: AttributeKey(CodingKeys.ts.rawValue))
        for (key, value) in [(CodingKeys.tenant, tenant), (.scenario, scenario), (.topic, topic), (.channel, channel)] {
            try c.encodeIfPresent(value, forKey: AttributeKey(key.rawValue))
        }
        for (key, value) in attributes where !Self.schemaKeys.contains(key) { try c.encode(value, forKey: AttributeKey(key)) }
    }

    struct AttributeKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Parses and validates one JSON record (a JSONL line or a Kafka record value).
    ///
    /// - Throws: `TurnValidationError` naming the problem.
    public static func parse(_ bytes: some Collection<UInt8>, maxTextLength: Int = maxTextLength) throws(TurnValidationError) -> Turn {
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw TurnValidationError(.invalidUTF8, "the record is not valid UTF-8")
        }
        let value: AnyJSON
        do { value = try JSONDecoder().decode(AnyJSON.self, from: Data(decoded.utf8)) } catch {
            throw TurnValidationError(.invalidJSON, "invalid JSON")
        }
        guard case .object(let o) = value else { throw TurnValidationError(.notAnObject, "the record is not a JSON object") }

        func string(_ key: String, required: Bool) throws(TurnValidationError) -> String? {
            guard let v = o[key], v != .null else {
                if required { throw TurnValidationError(.missingField, "missing field '\(key)'", field: key) }
                return nil
            }
            guard case .string(let s) = v else {
                throw TurnValidationError(.invalidField, "field '\(key)' must be a string", field: key)
            }
            return s
        }
        let dialogueID = try string("dialogue_id", required: true)!
        guard !dialogueID.isEmpty else { throw TurnValidationError(.invalidField, "field 'dialogue_id' is empty", field: "dialogue_id") }
        guard let rawTurn = o["turn_id"], rawTurn != .null else {
            throw TurnValidationError(.missingField, "missing field 'turn_id'", field: "turn_id")
        }
        guard let n = rawTurn.double, let turnID = Int(exactly: n), turnID >= 0 else {
            throw TurnValidationError(.invalidField, "field 'turn_id' must be a non-negative integer", field: "turn_id")
        }
        let speaker = try string("speaker", required: true)!
        let text = try string("text", required: true)!
        guard text.count <= maxTextLength else {
            throw TurnValidationError(.textTooLong, "text has \(text.count) characters; the limit is \(maxTextLength)", field: "text")
        }
        var role: Role?
        if let r = try string("role", required: false) {
            guard let parsed = Role(rawValue: r) else {
                throw TurnValidationError(.invalidField, "field 'role' must be one of customer, agent, bot, other", field: "role")
            }
            role = parsed
        }
        var ts: Timestamp?
        if let v = o["ts"], v != .null {
            if let n = v.double, let ms = Int64(exactly: n) {
                ts = .epochMilliseconds(ms)
            } else if case .string(let s) = v, RFC3339.date(s) != nil {
                ts = .rfc3339(s)
            } else {
                throw TurnValidationError(.invalidField, "field 'ts' must be an RFC 3339 date-time or epoch milliseconds", field: "ts")
            }
        }
        return Turn(dialogueID: dialogueID, turnID: turnID, speaker: speaker, role: role, text: text, ts: ts,
                    tenant: try string("tenant", required: false), scenario: try string("scenario", required: false),
                    topic: try string("topic", required: false), channel: try string("channel", required: false),
                    attributes: o.filter { !schemaKeys.contains($0.key) })
    }
}

/// Why an input record is not a valid turn.
public struct TurnValidationError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A machine-readable reason.
    public enum Code: String, Sendable {
        case invalidUTF8 = "invalid_utf8", invalidJSON = "invalid_json", notAnObject = "not_an_object"
        case missingField = "missing_field", invalidField = "invalid_field", textTooLong = "text_too_long"
    }

    public var code: Code
    public var message: String
    /// The offending field, if one.
    public var field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code; self.message = message; self.field = field
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

