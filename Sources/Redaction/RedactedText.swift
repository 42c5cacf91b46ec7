/// A text with its sensitive data replaced, and how many findings of each entity were replaced.
public struct RedactedText: Sendable, Equatable {
    /// The text with every finding replaced as its entity's mode says.
    public var text: String
    /// Entity name (`card`, or a custom pattern's name) → number of findings replaced.
    public var counts: [String: Int]

    public init(text: String, counts: [String: Int]) {
        self.text = text
        self.counts = counts
    }
}
