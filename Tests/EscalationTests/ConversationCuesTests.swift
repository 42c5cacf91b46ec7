import Foundation
import Testing
import Escalation

@Suite struct ConversationCuesTests {
    func cue(_ text: String, _ name: String) -> Float {
        ConversationCues.values(text)[ConversationCues.names.firstIndex(of: name)!]
    }

    /// Words are what is left between spaces once punctuation and symbols are cut from their ends;
    /// a word of punctuation alone is no word, an emoji stays one.
    @Test func wordsAndTheirEnds() {
        #expect(cue("you , idiot !", "length") == Float(log1p(2.0)) / 6)
        #expect(cue("great 🔥", "length") == Float(log1p(2.0)) / 6)
        #expect(cue("\"You\" are wrong", "opens_with_you") == 1)
        #expect(cue("(thanks)", "gratitude") == 1)
        #expect(cue("don ' t", "negation") == min(2 / 2 * 10, 1))
        #expect(cue("", "length") == 0 && cue("   ", "second_person") == 0)
    }

    /// Questions and exclamations are counted per mark, shouting per word of three or more
    /// letters all upper case.
    @Test func marksAndShouting() {
        #expect(cue("why?? no!", "questions") == min(Float(2) / 2 * 10, 1))
        #expect(cue("what ! is this thing here now ok and then we go home today", "exclamations") == Float(1) / 13 * 10)
        #expect(cue("STOP it NOW ok OK", "shouting") == min(Float(2) / 5 * 5, 1))
        #expect(cue("ÉNORME déjà", "shouting") == min(Float(1) / 2 * 5, 1))
    }
}
