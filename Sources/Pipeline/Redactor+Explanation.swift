import Contracts
import Redaction

extension Redactor {
    /// `text` redacted, and `explanation` with its words as that redaction leaves them (a word
    /// inside a finding becomes its placeholder): what leaves the process of an analyzed turn,
    /// in the stream's events and audits and in the gateway's answers alike.
    package func redact(_ text: String, explanation: Explanation?) -> (text: RedactedText, explanation: Explanation?) {
        let (redacted, words) = redact(text, fragments: explanation?.words.map(\.word) ?? [])
        return (redacted, explanation.map { e in
            var e = e
            for i in e.words.indices { e.words[i].word = words[i] }
            return e
        })
    }
}
