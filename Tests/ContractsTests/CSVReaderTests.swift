import Testing
@testable import Contracts

@Suite struct CSVReaderTests {
    /// The records of `text`, fed to the reader `chunk` bytes at a time (0: all at once).
    func read(_ text: String, chunk: Int = 0) -> [Result<CSVReader.Record, CSVReader.Malformed>] {
        read(Array(text.utf8), chunk: chunk)
    }

    func read(_ bytes: [UInt8], chunk: Int = 0) -> [Result<CSVReader.Record, CSVReader.Malformed>] {
        guard chunk > 0 else { return CSVReader.records(bytes) }
        var reader = CSVReader()
        var out: [Result<CSVReader.Record, CSVReader.Malformed>] = []
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            out += reader.read(bytes[start..<min(start + chunk, bytes.count)])
        }
        return out + reader.finish()
    }

    func record(_ fields: [String], line: Int) -> Result<CSVReader.Record, CSVReader.Malformed> {
        .success(CSVReader.Record(fields: fields, line: line))
    }

    func malformed(_ line: Int, _ reason: String) -> Result<CSVReader.Record, CSVReader.Malformed> {
        .failure(CSVReader.Malformed(line: line, reason: reason))
    }

    static let awkward = "\u{FEFF}id,text\r\n1,\"she said \"\"no\"\", twice\r\nthen left\"\r\n\r\n2,plain\n3,\"\"\n4,\"a\rb\",x\r5,end"

    @Test("one record per row, with the line it starts on, whatever the chunk size", arguments: [0, 1, 2, 3, 5, 64])
    func readsQuotesBreaksAndLineNumbers(chunk: Int) {
        #expect(read(Self.awkward, chunk: chunk) == [
            record(["id", "text"], line: 1),
            record(["1", "she said \"no\", twice\r\nthen left"], line: 2),
            record(["2", "plain"], line: 5),
            record(["3", ""], line: 6),
            record(["4", "a\rb", "x"], line: 7),
            record(["5", "end"], line: 9),
        ])
    }

    @Test("simple rows", arguments: [
        ("a,b,c\n", [["a", "b", "c"]]),
        ("a,b,c", [["a", "b", "c"]]),
        ("a,,\n", [["a", "", ""]]),
        (",\n", [["", ""]]),
        ("\"\"\n", [[""]]),
        ("\" a , b \"\n", [[" a , b "]]),
        ("ab\"c,d\n", [["ab\"c", "d"]]),
        ("\n\r\n\nx\n\n", [["x"]]),
        ("é,😡\n", [["é", "😡"]]),
        ("", []),
    ])
    func simpleRows(text: String, expected: [[String]]) {
        #expect(read(text).map { (try? $0.get())?.fields ?? ["<malformed>"] } == expected)
    }

    @Test func aByteOrderMarkOnlyCountsAtTheStart() {
        #expect(read([0xEF, 0xBB, 0xBF, 0x61]) == [record(["a"], line: 1)])
        #expect(read([0xEF, 0xBB, 0x61], chunk: 1) == [malformed(1, "field 1 is not valid UTF-8")])
        #expect(read([0x61, 0x0A, 0xEF, 0xBB, 0xBF, 0x62]) == [record(["a"], line: 1), record(["\u{FEFF}b"], line: 2)])
        #expect(read([0xEF, 0xBB, 0xBF]).isEmpty)
    }

    @Test func malformedRecordsAreReportedAndSkipped() {
        #expect(read("a,\"b\"c,d\nnext,row\n") == [malformed(1, "text after the closing quote of field 2"), record(["next", "row"], line: 2)])
        #expect(read("h\n\"open\nstill open\n") == [record(["h"], line: 1), malformed(2, "a quoted field is not closed before the end of the input")])
        #expect(read([0x61, 0x2C, 0xFF, 0x0A, 0x62, 0x0A]) == [malformed(1, "field 2 is not valid UTF-8"), record(["b"], line: 2)])
    }

    @Test("the writer's records read back as the same fields", arguments: [
        ["plain", "with, comma", "with \"quotes\"", "two\nlines", "crlf\r\nlines", " padded ", "", "😡"],
        [""],
        ["", ""],
        ["\""],
    ])
    func writesWhatItReads(fields: [String]) {
        let text = CSVWriter.record(fields) + CSVWriter.record(["next"])
        #expect(read(text) == [record(fields, line: 1), record(["next"], line: 1 + fields.joined().filter(\.isNewline).count + 1)])
    }

    @Test func writerQuotesOnlyWhatNeedsIt() {
        #expect(CSVWriter.record(["a", "b c", "d,e", "say \"hi\"", "0.25"]) == "a,b c,\"d,e\",\"say \"\"hi\"\"\",0.25\r\n")
    }
}
