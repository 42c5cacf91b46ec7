/// How a binary record writes its counts and integers.
package enum BinaryIntegers: Sendable {
    /// Counts as `UInt32`, integers as `Int64` (records before `PDS2`).
    case fixedWidth
    /// Counts and integers as LEB128 varints (integers zigzag-encoded): a small count or turn
    /// number takes one byte.
    case varint
}

/// Appends little-endian values, for compact binary records (dialogue states).
package struct BinaryWriter {
    package private(set) var bytes: [UInt8] = []
    package let integers: BinaryIntegers

    package init(capacity: Int = 0, integers: BinaryIntegers = .fixedWidth) {
        self.integers = integers
        bytes.reserveCapacity(capacity)
    }

    package mutating func write<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    package mutating func write(_ v: Float) { write(v.bitPattern) }
    package mutating func write(_ v: Double) { write(v.bitPattern) }
    package mutating func write(_ v: Bool) { write(UInt8(v ? 1 : 0)) }
    package mutating func write(_ s: String) {
        let utf8 = Array(s.utf8)
        write(count: utf8.count)
        bytes.append(contentsOf: utf8)
    }
    /// An integer: `Int64`, or a zigzag varint.
    package mutating func write(integer v: Int) {
        switch integers {
        case .fixedWidth: write(Int64(v))
        case .varint: write(varint: UInt64(bitPattern: Int64(v) << 1 ^ Int64(v) >> 63))
        }
    }
    /// A count: `UInt32`, or a varint.
    mutating func write(count n: Int) {
        switch integers {
        case .fixedWidth: write(UInt32(n))
        case .varint: write(varint: UInt64(n))
        }
    }
    mutating func write(varint v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
    /// A presence byte, then the value when present.
    package mutating func write<T>(_ v: T?, _ body: (inout BinaryWriter, T) -> Void) {
        write(v != nil)
        if let v { body(&self, v) }
    }
    /// A count, then the bytes (signed bytes as they are).
    package mutating func write(int8s: [Int8]) {
        write(count: int8s.count)
        int8s.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    /// A count, then the elements.
    package mutating func write<T>(array: [T], _ body: (inout BinaryWriter, T) -> Void) {
        write(count: array.count)
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
    package let integers: BinaryIntegers

    package init(_ bytes: [UInt8], offset: Int = 0, integers: BinaryIntegers = .fixedWidth) {
        self.bytes = bytes
        self.offset = offset
        self.integers = integers
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
    /// An integer written by ``BinaryWriter/write(integer:)``.
    package mutating func readInteger() throws -> Int {
        switch integers {
        case .fixedWidth: return Int(try read(Int64.self))
        case .varint:
            let z = try readVarint()
            return Int(Int64(bitPattern: z >> 1 ^ (0 &- (z & 1))))
        }
    }
    mutating func readVarint() throws -> UInt64 {
        var v: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            let b = try read(UInt8.self)
            v |= UInt64(b & 0x7F) << UInt64(shift)
            if b < 0x80 { return v }
        }
        throw Malformed(description: "a varint at byte \(offset - 10) runs past 64 bits")
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
        let at = offset
        let raw = switch integers {
        case .fixedWidth: UInt64(try read(UInt32.self))
        case .varint: try readVarint()
        }
        guard raw <= UInt64(bytes.count - offset) / UInt64(max(1, elementSize)) else {
            throw Malformed(description: "a count of \(raw) at byte \(at) runs past the end")
        }
        return Int(raw)
    }
}
