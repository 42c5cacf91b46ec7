import Foundation

/// Model-free cues of how a turn addresses the other side: the politeness and hostility markers
/// that forecast a conversation's derailment across communities (Zhang et al. 2018, "Conversations
/// Gone Awry"): second person (and opening with it), direct questions, hedges, gratitude, apology,
/// negation, insults, shouting and length. The escalation forecaster reads them next to the heads'
/// emotion outputs, because emotion alone does not tell a heated argument from a civil one.
///
/// Each cue is a rate per word or an indicator, scaled into about [0, 1]; case and the data's
/// tokenisation ("don ' t", "you ?") do not matter.
public enum ConversationCues {
    /// The cues, in the order `values(_:)` returns them.
    public static let names = ["second_person", "opens_with_you", "questions", "exclamations", "gratitude",
                               "hedges", "first_person", "negation", "insults", "apology", "shouting", "length"]
    /// How many cues a turn has.
    public static let count = names.count

    static let secondPerson: Set<Substring> = ["you", "your", "yours", "yourself", "yourselves", "youre", "u", "ur", "you're", "you've", "you'll", "you'd"]
    static let gratitude: Set<Substring> = ["please", "thanks", "thank", "thx", "appreciate", "appreciated", "grateful", "cheers"]
    static let hedges: Set<Substring> = ["maybe", "perhaps", "think", "seems", "seem", "might", "probably", "possibly", "guess",
                                         "believe", "suggest", "likely", "apparently", "somewhat", "arguably", "could", "imo", "imho"]
    static let firstPerson: Set<Substring> = ["i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll", "im"]
    static let negation: Set<Substring> = ["not", "no", "never", "nothing", "nobody", "none", "nor", "n't", "cannot", "dont", "don't",
                                           "isn't", "isnt", "aren't", "can't", "cant", "won't", "wont", "doesn't", "doesnt", "didn't", "didnt"]
    static let insults: Set<Substring> = ["stupid", "idiot", "idiots", "idiotic", "dumb", "moron", "morons", "ignorant", "ridiculous",
                                          "absurd", "nonsense", "bullshit", "bs", "fuck", "fucking", "fucked", "shit", "crap", "damn",
                                          "pathetic", "liar", "lying", "lies", "troll", "trolling", "hypocrite", "hypocritical",
                                          "clueless", "delusional", "retarded", "insane", "garbage", "trash", "joke", "laughable",
                                          "disgusting", "useless", "incompetent", "wtf", "shut", "asshole", "jerk", "fool", "foolish",
                                          "dishonest", "sick", "hate", "terrible", "awful", "worst"]
    static let apology: Set<Substring> = ["sorry", "apologize", "apologise", "apologies", "apology", "oops", "mistake"]

    /// What is trimmed from each end of a word before it is looked up.
    static let trimmed = CharacterSet.punctuationCharacters.union(.symbols)

    /// Whether a scalar stays at a word's end: not punctuation or a symbol, or outside the Basic
    /// Multilingual Plane (emoji stay words, as Foundation's trimming by UTF-16 units left them).
    static func kept(_ s: Unicode.Scalar) -> Bool { s.value > 0xFFFF || !trimmed.contains(s) }

    /// The cues of one turn's text (`count` values).
    public static func values(_ text: String) -> [Float] {
        var words: [Substring] = []
        var shouted = 0, questions = 0, exclamations = 0
        let lower = text.lowercased()
        for (raw, low) in zip(text.split(whereSeparator: \.isWhitespace), lower.split(whereSeparator: \.isWhitespace)) {
            for ch in low where ch == "?" || ch == "!" { if ch == "?" { questions += 1 } else { exclamations += 1 } }
            var letters = 0, upper = true
            for ch in raw where ch.isLetter { letters += 1; upper = upper && ch.isUppercase }
            if letters >= 3 && upper { shouted += 1 }
            let scalars = low.unicodeScalars
            guard let first = scalars.firstIndex(where: kept), let last = scalars.lastIndex(where: kept) else { continue }
            words.append(low[first...last])
        }
        let n = Float(max(words.count, 1))
        func rate(_ set: Set<Substring>) -> Float { Float(words.reduce(0) { $0 + (set.contains($1) ? 1 : 0) }) / n }
        func scaled(_ x: Float, _ k: Float) -> Float { min(x * k, 1) }
        return [
            scaled(rate(secondPerson), 8),
            words.first.map { $0 == "you" || $0 == "your" || $0 == "you're" || $0 == "youre" } == true ? 1 : 0,
            scaled(Float(questions) / n, 10),
            scaled(Float(exclamations) / n, 10),
            scaled(rate(gratitude), 20),
            scaled(rate(hedges), 10),
            scaled(rate(firstPerson), 8),
            // Tokenised text splits contractions ("don ' t"): a lone "t" is a negation too.
            scaled(rate(negation) + Float(words.reduce(0) { $0 + ($1 == "t" ? 1 : 0) }) / n, 10),
            scaled(rate(insults), 20),
            scaled(rate(apology), 20),
            scaled(Float(shouted) / n, 5),
            min(Float(log1p(Double(words.count))) / 6, 1),
        ]
    }
}
