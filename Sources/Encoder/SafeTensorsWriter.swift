import Contracts
import Foundation

/// Builds a safetensors file: an 8-byte little-endian header length, the JSON header (padded
/// with spaces to a multiple of 8 bytes), then the raw little-endian tensor data in the order
/// the tensors were added. Readable by `SafeTensors` and by the Python `safetensors` package.
package struct SafeTensorsWriter {
    private var entries: [(name: String, dtype: SafeTensors.DType, shape: [Int], range: Range<Int>)] = []
    private var payload = Data()

    package init() {}
    /// The `__metadata__` string map.
    package var metadata: [String: String] = [:]

    /// Adds a float tensor stored as F32 or F16 (rounded to nearest).
    package mutating func add(_ name: String, shape: [Int], _ values: UnsafeBufferPointer<Float>, dtype: SafeTensors.DType = .f32) {
        precondition(dtype == .f32 || dtype == .f16, "floats are stored as F32 or F16")
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        precondition(!entries.contains { $0.name == name }, "tensor \(name) added twice")
        let begin = payload.count
        if dtype == .f32 {
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
        } else {
            for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
        }
        entries.append((name, dtype, shape, begin..<payload.count))
    }

    /// Adds a float tensor from an array.
    package mutating func add(_ name: String, shape: [Int], _ values: [Float], dtype: SafeTensors.DType = .f32) {
        values.withUnsafeBufferPointer { add(name, shape: shape, $0, dtype: dtype) }
    }

    /// The file's bytes. Header keys are sorted, so equal contents give equal bytes.
    package func data() throws -> Data {
        var header: [String: Any] = [:]
        for e in entries {
            header[e.name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [e.range.lowerBound, e.range.upperBound]]
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(payload)
        return out
    }

    /// Writes the file atomically.
    package func write(to url: URL) throws {
        do { try data().write(to: url, options: .atomic) } catch {
            throw ModelError(.invalidFile, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}

extension SafeTensors {
    /// Reads an F32 or F16 tensor as floats after checking its shape.
    package func floatsConverting(_ name: String, shape: [Int]) throws -> [Float] {
        guard let t = tensors[name] else {
            throw ModelError(.invalidFile, "\(url.lastPathComponent): tensor '\(name)' is missing")
        }
        switch t.dtype {
        case .f32:
            return try floats(name, shape: shape)
        case .f16:
            let raw = try bytes(name, dtype: .f16, shape: shape)
            return (0..<(raw.count / 2)).map { i in
                let bits = UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8
                return Float(Float16(bitPattern: bits))
            }
        default:
            throw ModelError(.invalidFile, "\(url.lastPathComponent): tensor '\(name)' has dtype \(t.dtype.rawValue), expected F32 or F16")
        }
    }
}
