// RTCP SDES (RFC 3550 §6.5, packet type 202): per-source items, of which WebRTC only uses CNAME
// to tie a participant's audio and video SSRCs together.

public struct SourceDescription: Equatable, Sendable {
    /// One source's items. On the wire: SSRC, items, a null item, zero padding to 32 bits.
    public struct Chunk: Equatable, Sendable {
        public var ssrc: UInt32
        public var items: [Item]

        public init(ssrc: UInt32, items: [Item]) {
            self.ssrc = ssrc
            self.items = items
        }
    }

    /// One SDES item: type (1 CNAME, 2 NAME, ... 8 PRIV) and up to 255 bytes of value
    /// (longer values are truncated when serialized).
    public struct Item: Equatable, Sendable {
        public var type: UInt8
        public var value: [UInt8]

        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }

        public static let cnameType: UInt8 = 1
    }

    public var chunks: [Chunk]

    public init(chunks: [Chunk]) {
        self.chunks = chunks
    }

    /// An SDES with one chunk holding one CNAME item (UTF-8).
    public static func cname(ssrc: UInt32, _ cname: String) -> SourceDescription {
        SourceDescription(chunks: [
            Chunk(ssrc: ssrc, items: [Item(type: Item.cnameType, value: Array(cname.utf8))])
        ])
    }

    init(count: UInt8, body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        let bad = RTCPParseError.badPacket(type: RTCPPacketType.sourceDescription)
        var chunks: [Chunk] = []
        chunks.reserveCapacity(Int(count))
        var o = 0
        for _ in 0..<Int(count) {
            guard o + 4 <= body.count else { throw bad }
            let ssrc = body.be32(at: o)
            o += 4
            var items: [Item] = []
            while true {
                guard o < body.count else { throw bad }  // no null item ends the chunk
                let type = body[o]
                if type == 0 {
                    // The null item, then padding up to the next 32-bit boundary (chunks start
                    // aligned, and so does the body).
                    o = roundUpTo32Bits(o + 1)
                    break
                }
                guard o + 2 <= body.count else { throw bad }
                let end = o + 2 + Int(body[o + 1])
                guard end <= body.count else { throw bad }
                items.append(Item(type: type, value: Array(body.slice(o + 2..<end))))
                o = end
            }
            chunks.append(Chunk(ssrc: ssrc, items: items))
        }
        self.chunks = chunks
    }

    /// More than 31 chunks are split over several SDES packets.
    func serialize(into out: inout [UInt8]) {
        var index = 0
        repeat {
            let group = chunks[index..<min(index + 31, chunks.count)]
            let start = out.beginRTCPPacket(
                count: UInt8(group.count), type: RTCPPacketType.sourceDescription)
            for chunk in group {
                out.appendBE32(chunk.ssrc)
                for item in chunk.items where item.type != 0 {
                    let value = item.value.prefix(255)
                    out.append(item.type)
                    out.append(UInt8(value.count))
                    out.append(contentsOf: value)
                }
                // At least one null octet ends the item list, then pad to 32 bits.
                out.append(0)
                while (out.count - start) % 4 != 0 { out.append(0) }
            }
            out.endRTCPPacket(start: start)
            index += 31
        } while index < chunks.count
    }
}
