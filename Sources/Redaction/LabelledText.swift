/// A text with the sensitive data it holds: each entity's kind and UTF-8 byte range.
package struct LabelledText: Sendable {
    package var text: String
    package var entities: [(kind: EntityKind, range: Range<Int>)]

    package init(text: String = "", entities: [(kind: EntityKind, range: Range<Int>)] = []) {
        self.text = text
        self.entities = entities
    }

    /// Appends plain text.
    mutating func add(_ s: String) { text += s }

    /// Appends `value` as an entity of `kind`.
    mutating func add(_ kind: EntityKind, _ value: String) {
        let start = text.utf8.count
        text += value
        entities.append((kind, start..<text.utf8.count))
    }
}
