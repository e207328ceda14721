// Appends RFC 8285 §4.2 one-byte header-extension elements (0xBEDE) after an RTP header that
// has none yet, writing straight into the packet buffer. No allocation.

/// Use: write the fixed header (and CSRCs), `append` elements, `finish()` once, then write the
/// payload at the returned header length. Elements are written from `headerLength + 4`, so
/// anything already there is overwritten.
public struct OneByteExtensionWriter {
    private let packet: UnsafeMutableRawBufferPointer
    private let headerLength: Int
    /// Where the next element goes; the 4-byte extension header is filled in by `finish()`.
    private var cursor: Int

    /// `headerLength` is the length of the header written so far: 12 + 4*CC, without the X bit.
    public init(packet: UnsafeMutableRawBufferPointer, headerLength: Int) {
        precondition(headerLength >= 12 && headerLength % 4 == 0, "bad RTP header length")
        precondition(headerLength <= packet.count, "header longer than the buffer")
        self.packet = packet
        self.headerLength = headerLength
        self.cursor = headerLength + 4
    }

    /// Appends one element. False when the id is not 1...14, the data is not 1...16 bytes, or the
    /// element (plus the padding `finish()` adds) does not fit in the buffer.
    public mutating func append(id: UInt8, data: UnsafeRawBufferPointer) -> Bool {
        guard (1...14).contains(id), (1...16).contains(data.count) else { return false }
        let end = cursor + 1 + data.count
        let paddedEnd = roundUpTo32Bits(end)
        // The extension length field counts 32-bit words in 16 bits.
        guard paddedEnd <= packet.count, (paddedEnd - headerLength - 4) / 4 <= 0xFFFF else {
            return false
        }
        packet[cursor] = id << 4 | UInt8(data.count - 1)
        UnsafeMutableRawBufferPointer(rebasing: packet[cursor + 1..<end]).copyMemory(from: data)
        cursor = end
        return true
    }

    public mutating func append(id: UInt8, byte: UInt8) -> Bool {
        withUnsafeBytes(of: byte) { append(id: id, data: $0) }
    }

    /// Pads the elements to 32 bits with zero bytes, writes the 0xBEDE header and length, sets the
    /// X bit. Returns the new total header length (unchanged when nothing was appended).
    public mutating func finish() -> Int {
        guard cursor > headerLength + 4 else { return headerLength }
        let end = roundUpTo32Bits(cursor)
        for i in cursor..<end { packet[i] = 0 }
        packet.storeBE16(0xBEDE, at: headerLength)
        packet.storeBE16(UInt16((end - headerLength - 4) / 4), at: headerLength + 2)
        packet[0] |= 0x10
        return end
    }
}
