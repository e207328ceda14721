// RTCP BYE (RFC 3550 §6.6, packet type 203): sources leaving, with an optional reason.

public struct Goodbye: Equatable, Sendable {
    public var ssrcs: [UInt32]
    /// The reason text's bytes (UTF-8 by RFC 3550 §6.6), at most 255; nil when absent.
    public var reason: [UInt8]?

    public init(ssrcs: [UInt32], reason: [UInt8]? = nil) {
        self.ssrcs = ssrcs
        self.reason = reason
    }

    init(count: UInt8, body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        let bad = RTCPParseError.badPacket(type: RTCPPacketType.goodbye)
        let listEnd = 4 * Int(count)
        guard listEnd <= body.count else { throw bad }
        ssrcs = (0..<Int(count)).map { body.be32(at: 4 * $0) }
        if listEnd < body.count {
            let end = listEnd + 1 + Int(body[listEnd])
            guard end <= body.count else { throw bad }
            reason = Array(body.slice(listEnd + 1..<end))
        } else {
            reason = nil
        }
    }

    /// More than 31 SSRCs are split over several BYE packets; the reason goes with the last.
    func serialize(into out: inout [UInt8]) {
        var index = 0
        repeat {
            let group = ssrcs[index..<min(index + 31, ssrcs.count)]
            index += 31
            let start = out.beginRTCPPacket(count: UInt8(group.count), type: RTCPPacketType.goodbye)
            for ssrc in group { out.appendBE32(ssrc) }
            if index >= ssrcs.count, let reason {
                let text = reason.prefix(255)
                out.append(UInt8(text.count))
                out.append(contentsOf: text)
                while (out.count - start) % 4 != 0 { out.append(0) }
            }
            out.endRTCPPacket(start: start)
        } while index < ssrcs.count
    }
}
