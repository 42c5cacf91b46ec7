import Foundation
import Contracts

/// Sentence embeddings on disk, keyed by SHA-256 of the text, one file per encoder model
/// (named after the model file's hash), so training and evaluation encode each text once ever.
///
/// File layout: repeated records of 32-byte text hash + `dimension` little-endian float32.
final class EmbeddingStore {
    let url: URL
    let dimension: Int
    private var entries: [Data: [Float]] = [:]
    private var dirty = false

    init(url: URL, dimension: Int) {
        self.url = url
        self.dimension = dimension
        guard let data = try? Data(contentsOf: url) else { return }
        let record = 32 + 4 * dimension
        var off = 0
        while off + record <= data.count {
            let key = data.subdata(in: off..<(off + 32))
            var v = [Float](repeating: 0, count: dimension)
            v.withUnsafeMutableBytes { dst in
                data.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[(off + 32)..<(off + record)])) }
            }
            entries[key] = v.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            off += record
        }
    }

    static func key(_ text: String) -> Data { Data(SHA256.hash(Data(text.utf8))) }

    subscript(text: String) -> [Float]? {
        get { entries[Self.key(text)] }
        set { entries[Self.key(text)] = newValue; dirty = true }
    }

    func save() throws {
        guard dirty else { return }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var data = Data()
        for key in entries.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            data.append(key)
            for v in entries[key]! { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        try data.write(to: url, options: .atomic)
        dirty = false
    }
}
