/// A streaming RFC 4180 CSV parser: bytes in, in chunks of any size, records out.
///
/// Fields are separated by `,` and records by CRLF, LF or a lone CR. A field in double quotes may
/// hold commas, line breaks (kept as they are) and `""` for one quote. A leading UTF-8 byte order
/// mark is skipped and blank lines are ignored. Leniently, a quote inside an unquoted field is
/// kept as text. Each record carries the physical line (1-based) it starts on.
///
/// ```swift
/// var reader = CSVReader()
/// for result in reader.read(chunk) { … }   // as often as there are chunks
/// for result in reader.finish() { … }      // the last record, if the input does not end in a line break
/// ```
public struct CSVReader: Sendable {
    /// One record: its fields, and the physical line it starts on.
    public struct Record: Sendable, Equatable {
        /// The fields, unquoted, as UTF-8 text.
        public var fields: [String]
        /// The 1-based physical line of the record's first byte.
        public var line: Int

        public init(fields: [String], line: Int) { self.fields = fields; self.line = line }
    }

    /// A record that breaks RFC 4180 or is not UTF-8; the reader goes on with the next one.
    public struct Malformed: Error, Sendable, Equatable, CustomStringConvertible {
        /// The 1-based physical line the record starts on.
        public var line: Int
        /// What is wrong with it.
        public var reason: String

        public init(line: Int, reason: String) { self.line = line; self.reason = reason }

        public var description: String { "line \(line): \(reason)" }
    }

    private enum State: Sendable { case fieldStart, unquoted, quoted, quoteInQuoted }

    private var state = State.fieldStart
    private var field: [UInt8] = []
    private var fields: [String] = []
    private var problem: String?
    /// Whether the record under way has a byte (a blank line has none).
    private var inRecord = false
    private var recordLine = 1
    private var line = 1
    private var lastWasCR = false
    /// Bytes of a leading byte order mark matched so far; nil once past the start.
    private var bomMatched: Int? = 0
    private var out: [Result<Record, Malformed>] = []

    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

    public init() {}

    /// Reads the next bytes of the input; returns the records they complete, in order.
    public mutating func read(_ bytes: some Sequence<UInt8>) -> [Result<Record, Malformed>] {
        for b in bytes { consume(b) }
        defer { out.removeAll(keepingCapacity: true) }
        return out
    }

    /// Ends the input; returns the last record if it did not end in a line break (or a
    /// `Malformed` if it ends inside a quoted field).
    public mutating func finish() -> [Result<Record, Malformed>] {
        if let n = bomMatched, n > 0 {
            bomMatched = nil
            for b in Self.bom[..<n] { step(b) }
        }
        if state == .quoted {
            problem = problem ?? "a quoted field is not closed before the end of the input"
        }
        if inRecord { endRecord() }
        defer { out.removeAll() }
        return out
    }

    /// All the records of a complete input.
    public static func records(_ bytes: some Sequence<UInt8>) -> [Result<Record, Malformed>] {
        var reader = CSVReader()
        return reader.read(bytes) + reader.finish()
    }

    private mutating func consume(_ b: UInt8) {
        guard let n = bomMatched else { return step(b) }
        if b == Self.bom[n] {
            bomMatched = n + 1 == Self.bom.count ? nil : n + 1
            return
        }
        bomMatched = nil
        for held in Self.bom[..<n] { step(held) }
        step(b)
    }

    private mutating func step(_ b: UInt8) {
        if lastWasCR && b == Self.lf {   // the LF of a CRLF: the line was counted at the CR
            lastWasCR = false
            if state == .quoted { field.append(b) }
            return
        }
        lastWasCR = b == Self.cr
        let isBreak = b == Self.lf || b == Self.cr
        if !inRecord {
            if isBreak { line += 1; return }   // a blank line
            inRecord = true
            recordLine = line
        }
        switch state {
        case .fieldStart, .unquoted:
            if b == Self.comma { endField() }
            else if isBreak { endRecord() }
            else if b == Self.quote && state == .fieldStart { state = .quoted }
            else { field.append(b); state = .unquoted }
        case .quoted:
            if b == Self.quote { state = .quoteInQuoted } else { field.append(b) }
        case .quoteInQuoted:
            if b == Self.quote { field.append(b); state = .quoted }
            else if b == Self.comma { endField() }
            else if isBreak { endRecord() }
            else {
                problem = problem ?? "text after the closing quote of field \(fields.count + 1)"
                field.append(b)
                state = .unquoted
            }
        }
        if isBreak { line += 1 }
    }

    private mutating func endField() {
        if let s = String(validating: field, as: UTF8.self) { fields.append(s) } else {
            problem = problem ?? "field \(fields.count + 1) is not valid UTF-8"
            fields.append("")
        }
        field.removeAll(keepingCapacity: true)
        state = .fieldStart
    }

    private mutating func endRecord() {
        endField()
        if let problem { out.append(.failure(Malformed(line: recordLine, reason: problem))) }
        else { out.append(.success(Record(fields: fields, line: recordLine))) }
        fields.removeAll(keepingCapacity: true)
        problem = nil
        inRecord = false
    }
}
