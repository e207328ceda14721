// What one audio producer's packets say about its loudness: the RFC 6464 client-to-mixer audio
// level (`urn:ietf:params:rtp-hdrext:ssrc-audio-level`, one byte: V flag, then 0-127, the level
// in -dBov) that the publisher's encoder puts in every packet. Chorus never decodes audio.
//
// Per packet: two comparisons and two increments, no allocation. The speaker detector reads
// and resets the window a few times a second.

import RTP

struct AudioLevelMeter {
    /// Louder than -40 dBov counts as speech (a voice near the microphone sits at -20 to
    /// -35; room noise and a muted-by-OS microphone at -60 and below, silence at -127).
    static let speechLevel: UInt8 = 40

    let extensionID: UInt8
    private(set) var packets = 0
    private(set) var loudPackets = 0

    init(extensionID: UInt8) {
        self.extensionID = extensionID
    }

    @inline(__always)
    mutating func record(_ packet: RTPPacket) {
        guard let data = packet.headerExtension(id: extensionID), data.count >= 1 else { return }
        packets &+= 1
        if data[0] & 0x7F <= Self.speechLevel { loudPackets &+= 1 }
    }

    /// The share of this window's packets that carried speech (0 when none came), and a new
    /// window.
    mutating func takeWindow() -> Double? {
        defer {
            packets = 0
            loudPackets = 0
        }
        return packets == 0 ? nil : Double(loudPackets) / Double(packets)
    }
}
