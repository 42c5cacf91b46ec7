import Foundation
import Testing
@testable import Emotion

@Suite struct LexicalVocabularyTests {
    @Test func wordsAreLowercasedAlphanumericRunsOfTwoOrMore() {
        #expect(LexicalVocabulary.words(in: "I'm SO furious!!! 😡 Order #42, x-ray") == ["so", "furious", "order", "42", "ray"])
    }

    @Test func fitsWordsWithTheirInverseDocumentFrequency() {
        let v = LexicalVocabulary(fitting: ["so angry", "angry again", "so so calm"], minCount: 2)
        #expect(v.words == ["angry", "so"])
        // df 2 of 3 texts: ln(4/3) + 1.
        #expect(v.idf.allSatisfy { abs($0 - (log(Float(4) / 3) + 1)) < 1e-6 })
    }

    @Test("features are sublinear TF-IDF, L2-normalised")
    func features() {
        let v = LexicalVocabulary(words: ["angry", "calm", "so"], idf: [2, 1, 1])
        let f = v.features("So so ANGRY, unknown words 😡")
        let raw: [Float] = [2, 1 + log(2)]
        let norm = raw.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(f.map(\.index) == [0, 2])
        for (got, want) in zip(f.map(\.value), raw.map { $0 / norm }) { #expect(abs(got - want) < 1e-6) }
        #expect(v.features("nothing known here").isEmpty)
    }

    @Test func nonASCIIWordsKeepTheirLettersAndMarks() {
        #expect(LexicalVocabulary.words(in: "Café déçu, e\u{301}te 北京 ½") == ["café", "déçu", "e\u{301}te", "北京"])
    }

    @Test func roundTripsThroughJSON() throws {
        let v = LexicalVocabulary(fitting: ["a bb ccc", "bb dd"], minCount: 1)
        let back = try JSONDecoder().decode(LexicalVocabulary.self, from: JSONEncoder().encode(v))
        #expect(back == v && back.features("bb dd").map(\.value) == v.features("bb dd").map(\.value))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(LexicalVocabulary.self, from: Data(#"{"words":["a"],"idf":[]}"#.utf8))
        }
    }
}
