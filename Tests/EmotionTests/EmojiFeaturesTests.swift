import Testing
@testable import Emotion

@Suite struct EmojiFeaturesTests {
    @Test func findsAndNormalisesEmoji() {
        #expect(EmojiFeatures.emoji(in: "ok 👍🏽 fine ⚠️ 1 # © — ❤") == ["👍", "⚠", "❤"])
    }

    /// `hasEmoji(in:)` agrees with `emoji(in:)` being non-empty, digits, `#`, `©` and dashes included.
    @Test(arguments: ["ok 👍🏽", "1 # © —", "", "plain text", "⚠️", "❤", "👨‍👩‍👧"])
    func hasEmojiAgreesWithTheEmojiFound(text: String) {
        #expect(EmojiFeatures.hasEmoji(in: text) == !EmojiFeatures.emoji(in: text).isEmpty)
    }

    @Test func stripsEmojiAndTidiesSpaces() {
        #expect(EmojiFeatures.strip("Great, just great 🙄 — thanks 👍🏽!") == "Great, just great — thanks !")
        #expect(EmojiFeatures.strip("🔥🔥") == "")
    }

    @Test func vocabularyAndIndicators() {
        let v = EmojiVocabulary(texts: ["a 😡", "b 😡 🙄", "c 🙄", "d 🌈"], minCount: 2)
        #expect(v.symbols == ["😡", "🙄"])   // equal counts: by code point
        let f = EmojiFeatures(text: "x 😡 🌈", vocabulary: v)
        #expect(f.values == [1, 0, 1, 1])   // 😡, 🙄, any, out-of-vocabulary
        #expect(f.indices == [0])
        #expect(EmojiFeatures.none(vocabulary: v).values == [0, 0, 0, 0])
    }
}
