// Splits encoded VP8 frames into RTP payloads (RFC 7741 §4): a 4-byte payload descriptor with
// a 15-bit PictureID, S=1 on the first packet of a frame, frames split into packets of nearly
// equal size (as libwebrtc balances them) below the payload budget.

public struct VP8Packetizer: Sendable {
    /// X=1, S, PID=0 | I=1 | M=1 + 15-bit PictureID.
    public static let descriptorLength = 4

    /// Largest RTP payload (descriptor included).
    public let maxPayloadSize: Int

    public init(maxPayloadSize: Int) {
        precondition(maxPayloadSize > Self.descriptorLength + SendTimeTrailer.length, "payload budget too small")
        self.maxPayloadSize = maxPayloadSize
    }

    /// The payloads of one frame, PictureID 0 (the sender sets it per frame with
    /// `setPictureID`). The last payload ends with `reserve` zero bytes for the trailer.
    public func packetize(frame: [UInt8], reserve: Int) -> [[UInt8]] {
        let capacity = maxPayloadSize - Self.descriptorLength
        let total = frame.count + reserve
        let count = max(1, (total + capacity - 1) / capacity)
        // Balanced shares of frame + reserve; the first `total % count` packets get one byte more.
        let base = total / count
        let extra = total % count
        var payloads: [[UInt8]] = []
        payloads.reserveCapacity(count)
        var offset = 0
        for index in 0..<count {
            let share = base + (index < extra ? 1 : 0)
            let isLast = index == count - 1
            let dataLength = isLast ? frame.count - offset : share
            var payload: [UInt8] = [0x80 | (index == 0 ? 0x10 : 0), 0x80, 0x80, 0x00]
            payload.reserveCapacity(Self.descriptorLength + share)
            payload += frame[offset..<(offset + dataLength)]
            if isLast { payload += [UInt8](repeating: 0, count: reserve) }
            offset += dataLength
            payloads.append(payload)
        }
        return payloads
    }

    /// Sets the 15-bit PictureID (RFC 7741 §4.2, M=1) in a payload made by `packetize`.
    @inline(__always)
    public static func setPictureID(_ id: UInt16, in payload: UnsafeMutableRawBufferPointer) {
        payload[2] = 0x80 | UInt8(truncatingIfNeeded: id >> 8 & 0x7F)
        payload[3] = UInt8(truncatingIfNeeded: id)
    }
}
