/// Appends little-endian fixed-width values, for compact binary records (dialogue states).
package struct BinaryWriter {
    package private(set) var bytes: [UInt8] = []

    package init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    package mutating func write<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    package mutating func write(_ v: Float) { write(v.bitPattern) }
    package mutating func write(_ v: Double) { write(v.bitPattern) }
    package mutating func write(_ v: Bool) { write(UInt8(v ? 1 : 0)) }
    package mutating func write(_ s: String) {
        let utf8 = Array(s.utf8)
        write(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    /// A presence byte, then the value when present.
    package mutating func write<T>(_ v: T?, _ body: (inout BinaryWriter, T) -> Void) {
        write(v != nil)
        if let v { body(&self, v) }
    }
    /// A count, then the bytes (signed bytes as they are).
    package mutating func write(int8s: [Int8]) {
        write(UInt32(int8s.count))
        int8s.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    /// A count, then the elements.
    package mutating func write<T>(array: [T], _ body: (inout BinaryWriter, T) -> Void) {
        write(UInt32(array.count))
        for v in array { body(&self, v) }
    }
}

/// Reads what ``BinaryWriter`` wrote, checking every length against the bytes left.
package struct BinaryReader {
    /// Thrown on truncated or malformed input.
    package struct Malformed: Error, CustomStringConvertible {
        package var description: String
    }

    let bytes: [UInt8]
    package private(set) var offset: Int

    package init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Throws unless every byte was read.
    package func expectEnd() throws {
        guard offset == bytes.count else { throw Malformed(description: "\(bytes.count - offset) bytes left over") }
    }

    package mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { throw Malformed(description: "truncated at byte \(offset)") }
        var v = T.zero
        withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[offset..<(offset + size)]) }
        offset += size
        return T(littleEndian: v)
    }
    package mutating func read(_: Float.Type = Float.self) throws -> Float { Float(bitPattern: try read(UInt32.self)) }
    package mutating func read(_: Double.Type = Double.self) throws -> Double { Double(bitPattern: try read(UInt64.self)) }
    package mutating func read(_: Bool.Type = Bool.self) throws -> Bool {
        switch try read(UInt8.self) {
        case 0: false
        case 1: true
        case let b: throw Malformed(description: "byte \(b) at \(offset - 1) is not a boolean")
        }
    }
    package mutating func read(_: String.Type = String.self) throws -> String {
        let n = try count(elementSize: 1)
        defer { offset += n }
        return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self)
    }
    package mutating func readInt8s() throws -> [Int8] {
        let n = try count(elementSize: 1)
        defer { offset += n }
        return bytes[offset..<(offset + n)].map { Int8(bitPattern: $0) }
    }
    package mutating func readOptional<T>(_ body: (inout BinaryReader) throws -> T) throws -> T? {
        try read(Bool.self) ? try body(&self) : nil
    }
    package mutating func readArray<T>(elementSize: Int, _ body: (inout BinaryReader) throws -> T) throws -> [T] {
        let n = try count(elementSize: elementSize)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try body(&self)) }
        return out
    }
    /// A count whose elements (at least `elementSize` bytes each) fit in what is left.
    mutating func count(elementSize: Int) throws -> Int {
        let n = Int(try read(UInt32.self))
        guard n * max(1, elementSize) <= bytes.count - offset else {
            throw Malformed(description: "a count of \(n) at byte \(offset - 4) runs past the end")
        }
        return n
    }
}
