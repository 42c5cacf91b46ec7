import Contracts
import Redaction

extension Redactor {
    /// What leaves the process of an analyzed turn, in the stream's events and audits, the
    /// gateway's answers and `score`'s output alike: returns `text` redacted, and sets `event`'s
    /// explanation to `explanation` with its words as that redaction leaves them (a word inside a
    /// finding becomes its placeholder), its caller attributes to theirs with every string
    /// redacted, and its `redactions` to the findings of text and attributes (nil when none).
    package func redact(_ text: String, explanation: Explanation?, into event: inout EmotionEvent) -> String {
        let (redacted, words) = redact(text, fragments: explanation?.words.map(\.word) ?? [])
        event.explanation = explanation.map { e in
            var e = e
            for i in e.words.indices { e.words[i].word = words[i] }
            return e
        }
        var counts = redacted.counts
        event.attributes = event.attributes?.mapValues { redact($0, counts: &counts) }
        event.redactions = counts.isEmpty ? nil : counts
        return redacted.text
    }
}
