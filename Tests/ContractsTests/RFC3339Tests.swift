import Foundation
import Testing
@testable import Contracts

@Suite struct RFC3339Tests {
    @Test("agrees with Foundation's ISO 8601 parser", arguments: [
        "2026-11-25T10:00:00Z", "2026-11-25T10:00:00.123Z", "2026-11-25t10:00:00z", "2026-11-25 10:00:00Z",
        "2026-11-25T10:00:00.5+01:30", "2026-11-25T10:00:00-08:00", "2024-02-29T23:59:59Z", "2000-01-01T00:00:00Z",
        "1999-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z", "1969-07-20T20:17:40Z", "2100-03-01T00:00:00+14:00",
    ])
    func agreesWithFoundation(_ s: String) throws {
        let normalized = s.uppercased().replacingOccurrences(of: " ", with: "T")
        let expected = try (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(normalized))
            ?? Date.ISO8601FormatStyle().parse(normalized)
        let parsed = try #require(RFC3339.date(s))
        #expect(abs(parsed.timeIntervalSince1970 - expected.timeIntervalSince1970) < 1e-3)
    }

    @Test("rejects what is not a date-time", arguments: [
        "", "yesterday", "2026-11-25", "2026-11-25T10:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T10:60:00Z",
        "2026-11-25T10:00:61Z", "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00+0100", "2026-11-25T10:00:00Z ",
        "2026-1-25T10:00:00Z", "２０２６-11-25T10:00:00Z", "2026-11-25T10:00:00+24:00",
    ])
    func rejects(_ s: String) {
        #expect(RFC3339.date(s) == nil)
    }
}
