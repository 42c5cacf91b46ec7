/// One of the eight sectors of Plutchik's wheel, in wheel order: adjacent sectors are 45° apart
/// and opposite sectors (joy–sadness, trust–disgust, fear–anger, surprise–anticipation) 180°.
public enum PlutchikSector: Int, CaseIterable, Codable, Sendable {
    case joy, trust, fear, surprise, sadness, disgust, anger, anticipation

    /// The sector's angle on the wheel, in radians.
    public var angle: Float { Float(rawValue) * .pi / 4 }

    /// The sector's name, e.g. `anger`.
    public var name: String { String(describing: self) }
}

/// A ring of Plutchik's wheel.
public enum PlutchikRing: String, CaseIterable, Codable, Sendable {
    case mild, primary, dyadic, intense

    /// The intensity the original engine assigns to the ring: mild 0.25, primary 0.5, dyadic 0.6, intense 1.0.
    public var intensity: Float {
        switch self {
        case .mild: 0.25
        case .primary: 0.5
        case .dyadic: 0.6
        case .intense: 1.0
        }
    }

    /// The ring's radial position for wheel distances: mild 0, primary 1, dyadic 1.5, intense 2.
    public var position: Float {
        switch self {
        case .mild: 0
        case .primary: 1
        case .dyadic: 1.5
        case .intense: 2
        }
    }
}

/// Plutchik's 32 emotions: the single source of truth for the taxonomy.
///
/// The case order is the class index everywhere (head outputs, probabilities in events):
/// the 8 primaries, the intense ring, the mild ring (each in sector order), then the 8 primary dyads.
public enum PlutchikEmotion: String, CaseIterable, Codable, Sendable {
    case joy, trust, fear, surprise, sadness, disgust, anger, anticipation
    case ecstasy, admiration, terror, amazement, grief, loathing, rage, vigilance
    case serenity, acceptance, apprehension, distraction, pensiveness, boredom, annoyance, interest
    case optimism, love, submission, awe, disapproval, remorse, contempt, aggressiveness

    /// The number of classes.
    public static let count = 32

    /// The class index, in case order.
    public var index: Int { Self.indexByCase[self]! }

    private static let indexByCase: [PlutchikEmotion: Int] =
        Dictionary(uniqueKeysWithValues: allCases.enumerated().map { ($1, $0) })

    /// The emotion at a class index.
    public init(index: Int) { self = Self.allCases[index] }

    /// The ring the emotion sits on.
    public var ring: PlutchikRing {
        switch index {
        case 0..<8: .primary
        case 8..<16: .intense
        case 16..<24: .mild
        default: .dyadic
        }
    }

    /// The sector, or for a dyad its two sectors (in wheel order, e.g. optimism = anticipation + joy).
    public var sectors: [PlutchikSector] {
        let i = index
        if i < 24 { return [PlutchikSector(rawValue: i % 8)!] }
        // Dyad k lies between sector k and sector k+1: optimism is anticipation + joy, so shift by one.
        let k = i - 24
        return [PlutchikSector(rawValue: (k + 7) % 8)!, PlutchikSector(rawValue: k)!]
    }

    /// The sector an emotion is reported under: its own, or for a dyad the first of its two.
    public var sector: PlutchikSector { sectors[0] }

    /// The ring's intensity (mild 0.25, primary 0.5, dyadic 0.6, intense 1.0).
    public var intensity: Float { ring.intensity }

    /// The emotion's angle on the wheel in radians; a dyad sits halfway between its two sectors.
    public var angle: Float {
        let s = sectors
        if s.count == 1 { return s[0].angle }
        // Halfway between two adjacent sectors, taking the short way round (anticipation→joy crosses 0).
        let a = s[0].angle, b = s[1].angle
        let diff = (b - a).remainder(dividingBy: 2 * .pi)
        return a + diff / 2
    }

    /// Whether this emotion counts as escalation: the anger or disgust sector at primary intensity
    /// or above (anger, rage, aggressiveness, contempt, disgust, loathing).
    public var isEscalation: Bool {
        switch self {
        case .anger, .rage, .aggressiveness, .contempt, .disgust, .loathing: true
        default: false
        }
    }

    /// Distance on the wheel: 0.85·(angular distance/π) + 0.15·(ring distance/2), in [0, 1].
    public func wheelDistance(to other: PlutchikEmotion) -> Float {
        let d = abs((angle - other.angle).remainder(dividingBy: 2 * .pi))
        return 0.85 * (d / .pi) + 0.15 * (abs(ring.position - other.ring.position) / 2)
    }

    /// The 8 primary scores from 32 class probabilities: each sector's three ring classes plus
    /// half of each dyad it belongs to.
    public static func primaryScores(_ probabilities: [Float]) -> [Float] {
        precondition(probabilities.count == count, "expected \(count) probabilities")
        var scores = [Float](repeating: 0, count: 8)
        for (i, p) in probabilities.enumerated() {
            let s = PlutchikEmotion(index: i).sectors
            let share: Float = s.count == 1 ? 1 : 0.5
            for sector in s { scores[sector.rawValue] += share * p }
        }
        return scores
    }
}
