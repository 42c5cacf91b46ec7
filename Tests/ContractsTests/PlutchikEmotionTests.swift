import Testing
@testable import Contracts

@Suite struct PlutchikEmotionTests {
    @Test func thirtyTwoClassesInRingOrder() {
        #expect(PlutchikEmotion.allCases.count == PlutchikEmotion.count)
        #expect(PlutchikEmotion.allCases.filter { $0.ring == .primary }.count == 8)
        #expect(PlutchikEmotion.allCases.filter { $0.ring == .dyadic }.count == 8)
        #expect(PlutchikEmotion.rage.sector == .anger && PlutchikEmotion.annoyance.sector == .anger)
        #expect(PlutchikEmotion.ecstasy.sector == .joy && PlutchikEmotion.serenity.sector == .joy)
        #expect(PlutchikEmotion(index: PlutchikEmotion.contempt.index) == .contempt)
    }

    @Test(arguments: [
        (PlutchikEmotion.optimism, [PlutchikSector.anticipation, .joy]),
        (.love, [.joy, .trust]), (.submission, [.trust, .fear]), (.awe, [.fear, .surprise]),
        (.disapproval, [.surprise, .sadness]), (.remorse, [.sadness, .disgust]),
        (.contempt, [.disgust, .anger]), (.aggressiveness, [.anger, .anticipation]),
    ])
    func dyadsAreMadeOfTheirSectors(dyad: PlutchikEmotion, sectors: [PlutchikSector]) {
        #expect(Set(dyad.sectors) == Set(sectors))
        #expect(dyad.ring == .dyadic && dyad.intensity == 0.6)
    }

    @Test func wheelDistances() {
        #expect(PlutchikEmotion.joy.wheelDistance(to: .joy) == 0)
        // Opposites on the same ring: the full angular term.
        #expect(abs(PlutchikEmotion.joy.wheelDistance(to: .sadness) - 0.85) < 1e-5)
        // Same sector, mild vs intense: only the ring term.
        #expect(abs(PlutchikEmotion.serenity.wheelDistance(to: .ecstasy) - 0.15) < 1e-5)
        // A dyad sits halfway: optimism is 22.5° from joy, across the 0° line.
        let expected: Float = 0.85 * 0.125 + 0.15 * 0.25
        #expect(abs(PlutchikEmotion.optimism.wheelDistance(to: .joy) - expected) < 1e-5)
        #expect(abs(PlutchikEmotion.aggressiveness.wheelDistance(to: .optimism) - 0.85 * 0.25) < 1e-5)
    }

    @Test func primaryScoresSplitDyadsInHalf() {
        var p = [Float](repeating: 0, count: 32)
        p[PlutchikEmotion.rage.index] = 0.5
        p[PlutchikEmotion.contempt.index] = 0.5
        let s = PlutchikEmotion.primaryScores(p)
        #expect(s[PlutchikSector.anger.rawValue] == 0.75)
        #expect(s[PlutchikSector.disgust.rawValue] == 0.25)
        #expect(abs(s.reduce(0, +) - 1) < 1e-6)
    }

    @Test func escalationClasses() {
        #expect(Set(PlutchikEmotion.allCases.filter(\.isEscalation)) == [.anger, .rage, .aggressiveness, .contempt, .disgust, .loathing])
    }
}
