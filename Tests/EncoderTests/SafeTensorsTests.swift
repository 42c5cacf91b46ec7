import Foundation
import Testing
@testable import Contracts
@testable import Encoder

/// Builds a safetensors file in memory: 8-byte LE header length, JSON header, data.
private func safetensorsBytes(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    var n = UInt64(h.count).littleEndian
    let len = withUnsafeBytes(of: &n) { Array($0) }
    return len + h + data
}

private func floatBytes(_ xs: [Float]) -> [UInt8] {
    xs.withUnsafeBytes { Array($0) }
}

private func writeTemp(_ bytes: [UInt8], _ name: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("st-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).safetensors")
    try Data(bytes).write(to: url)
    return url
}

private let validHeader = """
{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"I64","shape":[2],"data_offsets":[24,40]}}
"""

private func validData() -> [UInt8] {
    floatBytes([1, 2, 3, 4, 5, 6]) + [UInt8](repeating: 0, count: 16)
}

private func expectInvalid(_ bytes: [UInt8], mentions needle: String) throws {
    let url = try writeTemp(bytes)
    defer { try? FileManager.default.removeItem(at: url) }
    do {
        _ = try SafeTensors(url: url)
        Issue.record("expected an error mentioning \(needle)")
    } catch let e as ModelError {
        #expect(e.code == .invalidFile)
        #expect(e.message.contains(needle), "message: \(e.message)")
    }
}

@Suite struct SafeTensorsTests {
    @Test func readsValidFile() throws {
        let url = try writeTemp(safetensorsBytes(header: validHeader, data: validData()))
        defer { try? FileManager.default.removeItem(at: url) }
        let st = try SafeTensors(url: url)
        #expect(st.metadata["format"] == "pt")
        #expect(st.tensors.count == 2)
        #expect(st.tensors["a"]?.shape == [2, 3])
        #expect(st.tensors["b"]?.dtype == .i64)
        #expect(try st.floats("a", shape: [2, 3]) == [1, 2, 3, 4, 5, 6])
    }

    @Test func wrongShapeOrDtypeOnReadNamesTensor() throws {
        let url = try writeTemp(safetensorsBytes(header: validHeader, data: validData()))
        defer { try? FileManager.default.removeItem(at: url) }
        let st = try SafeTensors(url: url)
        #expect { try st.floats("a", shape: [3, 2]) } throws: { ($0 as? ModelError)?.message.contains("'a' has shape [2, 3]") == true }
        #expect { try st.floats("b", shape: [2]) } throws: { ($0 as? ModelError)?.message.contains("'b' has dtype I64") == true }
        #expect { try st.floats("zzz", shape: [1]) } throws: { ($0 as? ModelError)?.message.contains("'zzz' is missing") == true }
    }

    @Test func truncatedData() throws {
        var bytes = safetensorsBytes(header: validHeader, data: validData())
        bytes.removeLast(5)
        try expectInvalid(bytes, mentions: "'b'")
    }

    /// Cutting a file names the first tensor, in file order, that lost bytes.
    @Test func truncationNamesFirstCutTensor() throws {
        var h = "{"
        var data: [UInt8] = []
        for i in 0..<20 {
            h += (i > 0 ? "," : "") + "\"t\(i)\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[\(i * 16),\(i * 16 + 16)]}"
            data += floatBytes([1, 2, 3, 4])
        }
        h += "}"
        let bytes = safetensorsBytes(header: h, data: data)
        try expectInvalid(Array(bytes.dropLast(16 * 12 + 3)), mentions: "tensor 't7'")
    }

    @Test func truncatedHeader() throws {
        let bytes = safetensorsBytes(header: validHeader, data: validData())
        try expectInvalid(Array(bytes.prefix(50)), mentions: "offset 0")
        try expectInvalid(Array(bytes.prefix(5)), mentions: "too short")
    }

    @Test func badJSON() throws {
        try expectInvalid(safetensorsBytes(header: "{\"a\": {\"dtype\": ", data: []), mentions: "not valid JSON")
        try expectInvalid(safetensorsBytes(header: "[1,2]", data: []), mentions: "not a JSON object")
    }

    @Test func shapeDisagreesWithByteRange() throws {
        let h = #"{"a":{"dtype":"F32","shape":[2,4],"data_offsets":[0,24]}}"#
        try expectInvalid(safetensorsBytes(header: h, data: floatBytes([1, 2, 3, 4, 5, 6])), mentions: "'a'")
    }

    @Test func unknownDtypeAndBadOffsets() throws {
        let h1 = #"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}"#
        try expectInvalid(safetensorsBytes(header: h1, data: floatBytes([1])), mentions: "unknown dtype Q4")
        let h2 = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#
        try expectInvalid(safetensorsBytes(header: h2, data: floatBytes([1, 2, 3])), mentions: "not an ordered range")
        let h3 = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        try expectInvalid(safetensorsBytes(header: h3, data: floatBytes([1, 2, 3])), mentions: "overlap")
    }

    @Test func missingFile() throws {
        #expect { try SafeTensors(url: URL(fileURLWithPath: "/nonexistent/x.safetensors")) } throws: {
            ($0 as? ModelError)?.code == .fileNotFound
        }
    }
}
