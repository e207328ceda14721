// RTCP generic NACK (RFC 4585 §6.2.1, RTPFB FMT 1): the sequence numbers a receiver is missing,
// packed as (PID, BLP) pairs: a packet ID plus a bitmask of the 16 that follow it.

public struct GenericNACK: Equatable, Sendable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    /// Missing packets. Parsing expands every PID/BLP pair in wire order; serializing packs a
    /// number into the current pair when it lies 1...16 after that pair's PID, else starts a new
    /// pair, so an ascending (in wrap order) list without duplicates round-trips exactly.
    public var lost: [SequenceNumber]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lost: [SequenceNumber]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.lost = lost
    }

    static let format: UInt8 = 1

    init(body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        guard body.count >= 8, (body.count - 8) % 4 == 0 else {
            throw .badPacket(type: RTCPPacketType.transportFeedback)
        }
        senderSSRC = body.be32(at: 0)
        mediaSSRC = body.be32(at: 4)
        var lost: [SequenceNumber] = []
        lost.reserveCapacity((body.count - 8) / 4 * 2)
        for o in stride(from: 8, to: body.count, by: 4) {
            let pid = SequenceNumber(body.be16(at: o))
            let blp = body.be16(at: o + 2)
            lost.append(pid)
            for bit in 0..<16 where blp & (1 << bit) != 0 {
                lost.append(pid &+ UInt16(bit + 1))
            }
        }
        self.lost = lost
    }

    /// The (PID, BLP) pairs `serialize` writes.
    var packedPairs: [(pid: SequenceNumber, blp: UInt16)] {
        var pairs: [(pid: SequenceNumber, blp: UInt16)] = []
        for s in lost {
            if let last = pairs.last {
                let d = last.pid.distance(to: s)
                if d == 0 { continue }
                if (1...16).contains(d) {
                    pairs[pairs.count - 1].blp |= 1 << (d - 1)
                    continue
                }
            }
            pairs.append((s, 0))
        }
        return pairs
    }

    func serialize(into out: inout [UInt8]) {
        let start = out.beginRTCPPacket(count: Self.format, type: RTCPPacketType.transportFeedback)
        out.appendBE32(senderSSRC)
        out.appendBE32(mediaSSRC)
        for pair in packedPairs {
            out.appendBE16(pair.pid.rawValue)
            out.appendBE16(pair.blp)
        }
        out.endRTCPPacket(start: start)
    }
}
