/// One piece of sensitive data found in a text: its entity, UTF-8 byte range and confidence (0...1).
struct Finding: Sendable, Equatable {
    var kind: EntityKind
    var range: Range<Int>
    var score: Double
}
