/// Writes RFC 4180 CSV records: fields separated by `,`, records ended by CRLF, a field in double
/// quotes (its quotes doubled) when it holds a comma, a quote, a line break, or starts or ends
/// with a space. What it writes, ``CSVReader`` reads back as the same fields (a record of one
/// empty field is written `""`, not as a blank line).
public enum CSVWriter {
    /// One record, ended by CRLF.
    public static func record(_ fields: some Sequence<String>) -> String {
        let fields = Array(fields)
        if fields == [""] { return "\"\"\r\n" }
        return fields.map(field).joined(separator: ",") + "\r\n"
    }

    /// One field, quoted if it needs to be.
    public static func field(_ s: String) -> String {
        let needsQuotes = s.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
            || s.utf8.first == UInt8(ascii: " ") || s.utf8.last == UInt8(ascii: " ")
        guard needsQuotes else { return s }
        return "\"" + s.replacing("\"", with: "\"\"") + "\""
    }
}
