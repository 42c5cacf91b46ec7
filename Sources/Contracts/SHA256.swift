import CKernels
import Foundation

/// SHA-256 (FIPS 180-4; the compression runs in C, `ck_sha256_blocks`), for content hashes: training data, cache keys, event ids.
public enum SHA256 {
    /// The 32-byte digest of `data`.
    public static func hash(_ data: Data) -> [UInt8] {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        let bitLength = UInt64(data.count) * 8
        var tail = [UInt8](data.suffix(data.count % 64))
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        let full = data.count / 64
        h.withUnsafeMutableBufferPointer { state in
            data.withUnsafeBytes { raw in
                if full > 0 { ck_sha256_blocks(state.baseAddress!, raw.bindMemory(to: UInt8.self).baseAddress!, full) }
            }
            tail.withUnsafeBufferPointer { ck_sha256_blocks(state.baseAddress!, $0.baseAddress!, $0.count / 64) }
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) } }
    }

    /// The digest of `data` as 64 lower-case hex digits.
    public static func hex(_ data: Data) -> String {
        hash(data).map { String(format: "%02x", $0) }.joined()
    }

    /// The hex digest of a file's contents (memory-mapped).
    public static func hex(fileAt url: URL) throws -> String {
        hex(try Data(contentsOf: url, options: .alwaysMapped))
    }
}


extension SHA256 {
    /// Checks a model file against the full SHA-256 hex digest its manifest records.
    ///
    /// - Throws: `ModelError(.fileNotFound)` when the file cannot be read, `.invalidFile` when it differs.
    public static func verify(fileAt url: URL, expected: String, what: String) throws {
        let actual: String
        do { actual = try hex(fileAt: url) } catch {
            throw ModelError(.fileNotFound, "cannot read \(url.path) (\(what))", cause: error)
        }
        guard actual == expected.lowercased() else {
            throw ModelError(.invalidFile, "\(url.path) (\(what)) has SHA-256 \(actual); its manifest expects \(expected)")
        }
    }
}
