import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Contracts

/// A safetensors file mapped read-only into memory, with its header parsed and checked.
///
/// Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON mapping each tensor
/// name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data
/// section that starts at byte `8 + n`), then the raw tensor bytes. Every tensor's dtype,
/// shape and byte range are checked when the file is opened, so later reads cannot run off
/// the mapping.
public final class SafeTensors: @unchecked Sendable {
    /// Element types this loader understands.
    public enum DType: String, Sendable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .i8, .u8, .bool: 1
            }
        }
    }

    /// One tensor's header entry.
    public struct Tensor: Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// Byte range within the whole file.
        public var byteRange: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    /// The file this was read from.
    public let url: URL
    /// Tensors by name.
    public let tensors: [String: Tensor]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]

    let base: UnsafeRawPointer
    let fileSize: Int

    /// Largest header accepted (the format's own limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    /// Maps and checks the file at `url`.
    ///
    /// - Throws: `ModelError` `.fileNotFound` when the file cannot be opened, `.invalidFile`
    ///   (naming the tensor or byte offset) when the header or a tensor's range is malformed.
    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let e = errno
            throw ModelError(.fileNotFound, "cannot open \(path): \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ModelError(.fileNotFound, "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        let size = Int(st.st_size)
        guard size >= 8 else {
            throw ModelError(.invalidFile, "\(path): file is \(size) bytes, too short for the 8-byte header length at offset 0")
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw ModelError(.invalidFile, "\(path): mmap of \(size) bytes failed: \(String(cString: strerror(errno)))")
        }
        let base = UnsafeRawPointer(p)
        do {
            (tensors, metadata) = try Self.parseHeader(base, size: size, path: path)
        } catch {
            munmap(p, size)
            throw error
        }
        self.base = base
        self.fileSize = size
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), fileSize)
    }

    /// Raw bytes of a tensor, after checking its dtype and, if given, its shape.
    public func bytes(_ name: String, dtype: DType, shape: [Int]? = nil) throws -> UnsafeRawBufferPointer {
        guard let t = tensors[name] else {
            throw ModelError(.invalidFile, "\(url.lastPathComponent): tensor '\(name)' is missing")
        }
        guard t.dtype == dtype else {
            throw ModelError(.invalidFile, "\(url.lastPathComponent): tensor '\(name)' has dtype \(t.dtype.rawValue), expected \(dtype.rawValue)")
        }
        if let shape, shape != t.shape {
            throw ModelError(.invalidFile, "\(url.lastPathComponent): tensor '\(name)' has shape \(t.shape), expected \(shape)")
        }
        return UnsafeRawBufferPointer(start: base + t.byteRange.lowerBound, count: t.byteRange.count)
    }

    /// Copies an F32 tensor into `out` (which must hold `shape` elements) after checking dtype and shape.
    public func copyFloats(_ name: String, shape: [Int], into out: UnsafeMutablePointer<Float>) throws {
        let raw = try bytes(name, dtype: .f32, shape: shape)
        // The data may not be 4-byte aligned, so copy bytes rather than binding memory.
        UnsafeMutableRawPointer(out).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
    }

    /// An F32 tensor in place in the mapping, after checking dtype and shape; nil when its bytes
    /// are not 4-byte aligned (then copy it with ``copyFloats(_:shape:into:)``). Valid while this
    /// object lives.
    public func alignedFloats(_ name: String, shape: [Int]) throws -> UnsafePointer<Float>? {
        let raw = try bytes(name, dtype: .f32, shape: shape)
        guard let p = raw.baseAddress, Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return p.assumingMemoryBound(to: Float.self)
    }

    /// Lets the kernel drop the mapping's resident pages: they count in this process's RSS until
    /// then. The mapping stays valid; a page read again comes back from the page cache or the file.
    public func dropResidentPages() {
        _ = madvise(UnsafeMutableRawPointer(mutating: base), fileSize, MADV_DONTNEED)
    }

    /// Reads an F32 tensor into an array after checking dtype and shape.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let n = shape.reduce(1, *)
        return try [Float](unsafeUninitializedCapacity: n) { buf, count in
            try copyFloats(name, shape: shape, into: buf.baseAddress!)
            count = n
        }
    }

    static func parseHeader(_ base: UnsafeRawPointer, size: Int, path: String) throws -> ([String: Tensor], [String: String]) {
        var n: UInt64 = 0
        withUnsafeMutableBytes(of: &n) { $0.copyMemory(from: UnsafeRawBufferPointer(start: base, count: 8)) }
        n = UInt64(littleEndian: n)
        guard n <= UInt64(maxHeaderBytes), 8 + Int(n) <= size else {
            throw ModelError(.invalidFile, "\(path): header length \(n) at offset 0 runs past the end of the \(size)-byte file (truncated or corrupt)")
        }
        let headerEnd = 8 + Int(n)
        let json = Data(bytes: base + 8, count: Int(n))
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw ModelError(.invalidFile, "\(path): header at bytes 8..<\(headerEnd) is not valid JSON: \(error.localizedDescription)")
        }
        guard let dict = object as? [String: Any] else {
            throw ModelError(.invalidFile, "\(path): header at bytes 8..<\(headerEnd) is not a JSON object")
        }
        let dataSize = size - headerEnd
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        var cut: [(name: String, begin: Int, end: Int)] = []   // tensors past the end of the file
        for (name, value) in dict {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw ModelError(.invalidFile, "\(path): __metadata__ is not an object")
                }
                for (k, v) in m { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            func bad(_ why: String) -> ModelError {
                ModelError(.invalidFile, "\(path): tensor '\(name)': \(why)")
            }
            guard let entry = value as? [String: Any] else { throw bad("entry is not an object") }
            guard let ds = entry["dtype"] as? String else { throw bad("missing dtype") }
            guard let dtype = DType(rawValue: ds) else { throw bad("unknown dtype \(ds)") }
            guard let shapeAny = entry["shape"] as? [Any], let shape = intArray(shapeAny), shape.allSatisfy({ $0 >= 0 }) else {
                throw bad("shape is not a list of non-negative integers")
            }
            guard let offAny = entry["data_offsets"] as? [Any], let off = intArray(offAny), off.count == 2 else {
                throw bad("data_offsets is not a pair of integers")
            }
            let (begin, end) = (off[0], off[1])
            guard begin >= 0, begin <= end else { throw bad("data_offsets [\(begin), \(end)] are not an ordered range") }
            var count = 1
            for d in shape {
                let (c, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("shape \(shape) overflows") }
                count = c
            }
            let (want, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, want == end - begin else {
                throw bad("shape \(shape) of \(ds) needs \(count * dtype.size) bytes but data_offsets [\(begin), \(end)] give \(end - begin)")
            }
            if end > dataSize {
                cut.append((name, begin, end))
                continue
            }
            tensors[name] = Tensor(name: name, dtype: dtype, shape: shape, byteRange: (headerEnd + begin)..<(headerEnd + end))
        }
        // A truncated file names the first tensor (in file order) that it cuts.
        if let t = cut.min(by: { ($0.begin, $0.name) < ($1.begin, $1.name) }) {
            throw ModelError(.invalidFile, "\(path): tensor '\(t.name)': data ends at file offset \(headerEnd + t.end), past the end of the \(size)-byte file (truncated)")
        }
        let sorted = tensors.values.sorted { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        // Ranges must not overlap.
        let nonEmpty = sorted.filter { !$0.byteRange.isEmpty }
        for (a, b) in zip(nonEmpty, nonEmpty.dropFirst()) where a.byteRange.upperBound > b.byteRange.lowerBound {
            throw ModelError(.invalidFile, "\(path): tensors '\(a.name)' and '\(b.name)' overlap at file offset \(b.byteRange.lowerBound)")
        }
        return (tensors, metadata)
    }

    static func intArray(_ xs: [Any]) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(xs.count)
        for x in xs {
            if let i = x as? Int { out.append(i) } else if let d = x as? Double, d == d.rounded(), abs(d) < 1e15 { out.append(Int(d)) } else { return nil }
        }
        return out
    }
}
