import Contracts
import Foundation
import Testing
import Tokenizer

/// The model directory: `PLUTCHIK_MODEL_DIR`, or the default that `Deploy/fetch-model.sh` fills.
private func modelDirectory() -> URL {
    if let dir = ProcessInfo.processInfo.environment["PLUTCHIK_MODEL_DIR"], !dir.isEmpty {
        return URL(fileURLWithPath: dir)
    }
    return FileManager.default.homeDirectoryForCurrentUser
        .appendingPathComponent(".cache/plutchik/all-MiniLM-L6-v2")
}

/// Loads the real vocabulary, failing the test (not skipping it) when it has not been fetched.
private func loadTokenizer() throws -> WordPieceTokenizer {
    let vocabulary = modelDirectory().appendingPathComponent("vocab.txt")
    try #require(
        FileManager.default.fileExists(atPath: vocabulary.path),
        "no vocabulary at \(vocabulary.path): run Deploy/fetch-model.sh"
    )
    return try WordPieceTokenizer(vocabulary: vocabulary)
}

private struct FixtureCase: Decodable {
    var text: String
    var ids: [Int32]
}

/// The committed fixture written by `Fixtures/make_tokenizer_fixture.py` with the reference tokenizer.
private func loadFixture() throws -> [FixtureCase] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizer-fixture.jsonl")
    let data = try Data(contentsOf: url)
    let decoder = JSONDecoder()
    // Split on newline bytes only: texts may hold U+2028 and other line breaks, escaped or not.
    return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(FixtureCase.self, from: Data($0)) }
}

private func describe(_ text: String) -> String {
    text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }
        .joined()
}

@Suite struct WordPieceTokenizerTests {
    @Test func specialTokenIDs() throws {
        let tokenizer = try loadTokenizer()
        #expect(tokenizer.padID == 0)
        #expect(tokenizer.unkID == 100)
        #expect(tokenizer.clsID == 101)
        #expect(tokenizer.sepID == 102)
    }

    @Test func matchesReferenceOnFixture() throws {
        let tokenizer = try loadTokenizer()
        let cases = try loadFixture()
        #expect(cases.count >= 1000)
        var mismatches = 0
        for item in cases {
            let ids = tokenizer.encode(item.text)
            if ids != item.ids {
                mismatches += 1
                if mismatches <= 10 {
                    Issue.record("\"\(describe(item.text))\": got \(ids), reference \(item.ids)")
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) fixture texts differ from the reference")
    }

    @Test(arguments: [2, 3, 8, 16, 64])
    func truncatesKeepingSEP(maxLength: Int) throws {
        let tokenizer = try loadTokenizer()
        for item in try loadFixture() {
            var expected = item.ids
            if expected.count > maxLength {
                expected = Array(expected.prefix(maxLength - 1)) + [tokenizer.sepID]
            }
            let ids = tokenizer.encode(item.text, maxLength: maxLength)
            #expect(ids == expected, "\"\(describe(item.text))\" at maxLength \(maxLength)")
            if ids != expected { return }
        }
    }

    @Test func longInputIsTruncatedAtDefaultLength() throws {
        let tokenizer = try loadTokenizer()
        let ids = tokenizer.encode(String(repeating: "hello world, ", count: 500))
        #expect(ids.count == 128)
        #expect(ids.first == tokenizer.clsID)
        #expect(ids.last == tokenizer.sepID)
    }

    @Test func missingVocabularyThrowsModelError() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/plutchik-tests/vocab.txt")
        do {
            _ = try WordPieceTokenizer(vocabulary: missing)
            Issue.record("loading a missing vocabulary did not throw")
        } catch let error as ModelError {
            #expect(error.code == .fileNotFound)
            #expect(error.message.contains(missing.path))
        }
    }
}
