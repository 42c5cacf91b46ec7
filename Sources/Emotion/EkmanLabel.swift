import Contracts

/// The seven labels conversation corpora annotate (MELD, DailyDialog): neutral and Ekman's six.
public enum EkmanLabel: String, CaseIterable, Codable, Sendable {
    case neutral, joy, surprise, anger, sadness, disgust, fear

    /// The label index, in case order (neutral is 0).
    public var index: Int { Self.allCases.firstIndex(of: self)! }

    /// A prediction read as one of the seven: neutral when the gate says so, else the label's
    /// sector, where the six Ekman sectors keep their names and trust and anticipation (no Ekman
    /// counterpart) read as neutral.
    public init(_ prediction: EmotionPrediction) {
        guard !prediction.isNeutral else { self = .neutral; return }
        self = switch prediction.label.sector {
        case .joy: .joy
        case .fear: .fear
        case .surprise: .surprise
        case .sadness: .sadness
        case .disgust: .disgust
        case .anger: .anger
        case .trust, .anticipation: .neutral
        }
    }

    /// Decodes a label by name; `happiness` (DailyDialog's name) reads as joy.
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let label = name == "happiness" ? .joy : EkmanLabel(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not one of the seven labels: \(name)"))
        }
        self = label
    }
}
