// When did the sender send this packet? The delay trend compares send and arrival spacing, so
// it needs the sender's clock as one continuous timeline:
// - abs-send-time (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time): 24 bits of
//   seconds in 6.18 fixed point, stamped by the sender's pacer, wrapping every 64 s;
// - else the RTP timestamps of one video stream: capture times, which the pacer spreads a
//   little, good enough for the trend over 20 frames.
// Both are unwrapped here into milliseconds since the first packet.

import RTP

struct SendClock {
    private let absSendTimeID: UInt8?
    private var lastRaw: UInt32?
    private var milliseconds = 0.0
    private var timingSSRC: UInt32?

    init(absSendTimeID: UInt8? = nil) {
        self.absSendTimeID = absSendTimeID
    }

    /// Nil when the packet carries no send time we can read (audio without abs-send-time, or
    /// another stream than `timingStream`).
    @inline(__always)
    mutating func sendMilliseconds(of packet: RTPPacket, timingStream: (ssrc: UInt32, clockRate: UInt32)?) -> Double? {
        if let id = absSendTimeID {
            guard let data = packet.headerExtension(id: id), data.count == 3 else { return nil }
            let raw = UInt32(data[0]) << 16 | UInt32(data[1]) << 8 | UInt32(data[2])
            return advance(raw: raw, modulus: 1 << 24, unitsPerSecond: 262_144)
        }
        guard let stream = timingStream, stream.ssrc == packet.ssrc, stream.clockRate > 0 else { return nil }
        // A new stream (an encoder restart) starts its own timestamps: continue from here.
        if stream.ssrc != timingSSRC {
            timingSSRC = stream.ssrc
            lastRaw = nil
        }
        return advance(raw: packet.timestamp.rawValue, modulus: 1 << 32, unitsPerSecond: Double(stream.clockRate))
    }

    /// Adds the signed distance from the last value (the shorter way round the wrap).
    private mutating func advance(raw: UInt32, modulus: UInt64, unitsPerSecond: Double) -> Double {
        if let last = lastRaw {
            var delta = Int64((UInt64(raw) &+ modulus &- UInt64(last)) % modulus)
            if delta >= Int64(modulus / 2) { delta -= Int64(modulus) }
            milliseconds += Double(delta) * 1000 / unitsPerSecond
        }
        lastRaw = raw
        return milliseconds
    }
}
