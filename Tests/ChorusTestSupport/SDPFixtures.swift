// Real-shaped offers the SDP, Signaling and load-test tests share (aiortc 1.16, a Chromium WHIP
// publisher, a recvonly WHEP player), and small edits of them.

public enum SDPFixtures {
    public static let aiortcFingerprint256 = "A5:4D:CA:18:25:30:BB:1D:6D:13:2C:DE:D6:23:7B:2E:D9:1E:3F:72:1F:CB:19:71:17:44:94:D6:49:3C:9D:5C"
    public static let aiortcFingerprint384 = "34:60:BE:31:20:1E:69:FE:DA:A0:EE:E8:B9:99:7F:5C:7C:29:99:FD:AF:E5:93:25:3C:D6:54:AF:4D:FA:D7:14:27:A0:AE:B3:FE:E9:23:2F:8A:F2:21:1F:9E:E4:91:C5"
    public static let aiortcFingerprint512 = "B1:0B:EC:B5:56:3B:FC:1E:6F:93:42:7E:CB:C8:FE:29:55:E5:CD:8E:46:DC:8E:D4:B7:C2:76:4D:2A:5A:4D:76:77:06:F8:5D:86:90:02:4A:D6:BD:A3:40:1B:E9:C8:CB:CC:C9:35:F6:CD:1F:61:22:6A:E1:53:38:AE:1A:34:00"
    public static let chromiumFingerprint = "4D:33:BA:0D:24:6A:C0:4C:81:B1:BA:F2:3E:3B:F9:EE:F5:F7:9F:2B:49:34:AF:87:F5:52:0B:69:B9:4B:0D:98"
    public static let whepFingerprint = "2E:85:BB:55:B6:72:A8:72:63:7A:CD:74:66:FC:B6:0E:0E:8F:F1:84:63:B0:E4:B2:BA:29:70:34:74:F0:64:AC"

    /// aiortc's shape: BUNDLE 0 1, a port and candidates per section, three fingerprints,
    /// transport attributes at the end of each section, VP8 + RTX and two H264 variants.
    public static let aiortc = """
        v=0
        o=- 3942171542 3942171542 IN IP4 0.0.0.0
        s=-
        t=0 0
        a=group:BUNDLE 0 1
        a=msid-semantic:WMS *
        m=audio 46797 UDP/TLS/RTP/SAVPF 96 0 8
        c=IN IP4 192.168.1.23
        a=sendrecv
        a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
        a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=mid:0
        a=msid:9f7c2a4e-6d1b-4f0e-9a57-0c3b8e1d2f40 5c1e7a9b-2d34-4b8f-8e61-7f0a9c3d5b12
        a=rtcp:9 IN IP4 0.0.0.0
        a=rtcp-mux
        a=ssrc:3271828345 cname:6a3f0e5c-8b7d-4c2a-9e1f-3d5b7a9c1e2f
        a=rtpmap:96 opus/48000/2
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=candidate:3f6c1a9e0b5d7f2c8e4a6b1d9c3e5f70 1 udp 2130706431 192.168.1.23 46797 typ host
        a=candidate:8a1e5c3b7d9f2a4c6e8b0d1f3a5c7e92 1 udp 1694498815 203.0.113.7 46797 typ srflx raddr 192.168.1.23 rport 46797
        a=end-of-candidates
        a=ice-ufrag:X5gN
        a=ice-pwd:5y5WqeCcOoBkl2z6M2Kjqf
        a=fingerprint:sha-256 \(aiortcFingerprint256)
        a=fingerprint:sha-384 \(aiortcFingerprint384)
        a=fingerprint:sha-512 \(aiortcFingerprint512)
        a=setup:actpass
        m=video 53510 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102
        c=IN IP4 192.168.1.23
        a=sendrecv
        a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
        a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
        a=mid:1
        a=msid:9f7c2a4e-6d1b-4f0e-9a57-0c3b8e1d2f40 e2d4f6a8-1b3c-4d5e-8f70-9a1b2c3d4e5f
        a=rtcp:9 IN IP4 0.0.0.0
        a=rtcp-mux
        a=ssrc-group:FID 1584612412 2841929284
        a=ssrc:1584612412 cname:6a3f0e5c-8b7d-4c2a-9e1f-3d5b7a9c1e2f
        a=ssrc:2841929284 cname:6a3f0e5c-8b7d-4c2a-9e1f-3d5b7a9c1e2f
        a=rtpmap:97 VP8/90000
        a=rtcp-fb:97 nack
        a=rtcp-fb:97 nack pli
        a=rtcp-fb:97 goog-remb
        a=rtpmap:98 rtx/90000
        a=fmtp:98 apt=97
        a=rtpmap:99 H264/90000
        a=rtcp-fb:99 nack
        a=rtcp-fb:99 nack pli
        a=rtcp-fb:99 goog-remb
        a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
        a=rtpmap:100 rtx/90000
        a=fmtp:100 apt=99
        a=rtpmap:101 H264/90000
        a=rtcp-fb:101 nack
        a=rtcp-fb:101 nack pli
        a=rtcp-fb:101 goog-remb
        a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
        a=rtpmap:102 rtx/90000
        a=fmtp:102 apt=101
        a=candidate:3f6c1a9e0b5d7f2c8e4a6b1d9c3e5f70 1 udp 2130706431 192.168.1.23 53510 typ host
        a=candidate:8a1e5c3b7d9f2a4c6e8b0d1f3a5c7e92 1 udp 1694498815 203.0.113.7 53510 typ srflx raddr 192.168.1.23 rport 53510
        a=end-of-candidates
        a=ice-ufrag:X5gN
        a=ice-pwd:5y5WqeCcOoBkl2z6M2Kjqf
        a=fingerprint:sha-256 \(aiortcFingerprint256)
        a=fingerprint:sha-384 \(aiortcFingerprint384)
        a=fingerprint:sha-512 \(aiortcFingerprint512)
        a=setup:actpass

        """

    /// A Chromium WHIP publisher (sendonly, max-bundle, gathering complete): opus with RED,
    /// ISAC and friends, VP8 + RTX, VP9, H264 profiles, AV1, RED/ULPFEC, transport-cc and the
    /// usual extmaps, a=extmap-allow-mixed, and a data channel section.
    public static let chromium = """
        v=0
        o=- 4611731400430051336 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0 1 2
        a=extmap-allow-mixed
        a=msid-semantic: WMS 3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f
        m=audio 51423 UDP/TLS/RTP/SAVPF 111 63 103 104 9 0 8 106 105 13 110 112 113 126
        c=IN IP4 127.0.0.1
        a=rtcp:9 IN IP4 0.0.0.0
        a=candidate:1467250027 1 udp 2122260223 127.0.0.1 51423 typ host generation 0 network-id 1
        a=candidate:435653019 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1
        a=ice-ufrag:EsAw
        a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y
        a=ice-options:trickle
        a=fingerprint:sha-256 \(chromiumFingerprint)
        a=setup:actpass
        a=mid:0
        a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
        a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=sendonly
        a=msid:3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
        a=rtcp-mux
        a=rtcp-rsize
        a=rtpmap:111 opus/48000/2
        a=rtcp-fb:111 transport-cc
        a=fmtp:111 minptime=10;useinbandfec=1
        a=rtpmap:63 red/48000/2
        a=fmtp:63 111/111
        a=rtpmap:103 ISAC/16000
        a=rtpmap:104 ISAC/32000
        a=rtpmap:9 G722/8000
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        a=rtpmap:106 CN/32000
        a=rtpmap:105 CN/16000
        a=rtpmap:13 CN/8000
        a=rtpmap:110 telephone-event/48000
        a=rtpmap:112 telephone-event/32000
        a=rtpmap:113 telephone-event/16000
        a=rtpmap:126 telephone-event/8000
        a=ssrc:2904383427 cname:QcdK8i0pA2nHj3Lf
        a=ssrc:2904383427 msid:3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
        m=video 51423 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 45 46 98 99 100 101 114 115 116
        c=IN IP4 127.0.0.1
        a=rtcp:9 IN IP4 0.0.0.0
        a=candidate:1467250027 1 udp 2122260223 127.0.0.1 51423 typ host generation 0 network-id 1
        a=ice-ufrag:EsAw
        a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y
        a=ice-options:trickle
        a=fingerprint:sha-256 \(chromiumFingerprint)
        a=setup:actpass
        a=mid:1
        a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
        a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
        a=extmap:13 urn:3gpp:video-orientation
        a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
        a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
        a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
        a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
        a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
        a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
        a=sendonly
        a=msid:3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f 7d8e9f0a-1b2c-4d3e-9f4a-5b6c7d8e9f0a
        a=rtcp-mux
        a=rtcp-rsize
        a=rtpmap:96 VP8/90000
        a=rtcp-fb:96 goog-remb
        a=rtcp-fb:96 transport-cc
        a=rtcp-fb:96 ccm fir
        a=rtcp-fb:96 nack
        a=rtcp-fb:96 nack pli
        a=rtpmap:97 rtx/90000
        a=fmtp:97 apt=96
        a=rtpmap:102 H264/90000
        a=rtcp-fb:102 goog-remb
        a=rtcp-fb:102 transport-cc
        a=rtcp-fb:102 ccm fir
        a=rtcp-fb:102 nack
        a=rtcp-fb:102 nack pli
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
        a=rtpmap:103 rtx/90000
        a=fmtp:103 apt=102
        a=rtpmap:104 H264/90000
        a=rtcp-fb:104 goog-remb
        a=rtcp-fb:104 transport-cc
        a=rtcp-fb:104 ccm fir
        a=rtcp-fb:104 nack
        a=rtcp-fb:104 nack pli
        a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f
        a=rtpmap:105 rtx/90000
        a=fmtp:105 apt=104
        a=rtpmap:106 H264/90000
        a=rtcp-fb:106 goog-remb
        a=rtcp-fb:106 transport-cc
        a=rtcp-fb:106 ccm fir
        a=rtcp-fb:106 nack
        a=rtcp-fb:106 nack pli
        a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
        a=rtpmap:107 rtx/90000
        a=fmtp:107 apt=106
        a=rtpmap:108 H264/90000
        a=rtcp-fb:108 goog-remb
        a=rtcp-fb:108 transport-cc
        a=rtcp-fb:108 ccm fir
        a=rtcp-fb:108 nack
        a=rtcp-fb:108 nack pli
        a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f
        a=rtpmap:109 rtx/90000
        a=fmtp:109 apt=108
        a=rtpmap:127 H264/90000
        a=rtcp-fb:127 goog-remb
        a=rtcp-fb:127 transport-cc
        a=rtcp-fb:127 ccm fir
        a=rtcp-fb:127 nack
        a=rtcp-fb:127 nack pli
        a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f
        a=rtpmap:125 rtx/90000
        a=fmtp:125 apt=127
        a=rtpmap:45 AV1/90000
        a=rtcp-fb:45 goog-remb
        a=rtcp-fb:45 transport-cc
        a=rtcp-fb:45 ccm fir
        a=rtcp-fb:45 nack
        a=rtcp-fb:45 nack pli
        a=fmtp:45 level-idx=5;profile=0;tier=0
        a=rtpmap:46 rtx/90000
        a=fmtp:46 apt=45
        a=rtpmap:98 VP9/90000
        a=rtcp-fb:98 goog-remb
        a=rtcp-fb:98 transport-cc
        a=rtcp-fb:98 ccm fir
        a=rtcp-fb:98 nack
        a=rtcp-fb:98 nack pli
        a=fmtp:98 profile-id=0
        a=rtpmap:99 rtx/90000
        a=fmtp:99 apt=98
        a=rtpmap:100 VP9/90000
        a=rtcp-fb:100 goog-remb
        a=rtcp-fb:100 transport-cc
        a=rtcp-fb:100 ccm fir
        a=rtcp-fb:100 nack
        a=rtcp-fb:100 nack pli
        a=fmtp:100 profile-id=2
        a=rtpmap:101 rtx/90000
        a=fmtp:101 apt=100
        a=rtpmap:114 red/90000
        a=rtpmap:115 rtx/90000
        a=fmtp:115 apt=114
        a=rtpmap:116 ulpfec/90000
        a=ssrc-group:FID 1149373539 3318574211
        a=ssrc:1149373539 cname:QcdK8i0pA2nHj3Lf
        a=ssrc:1149373539 msid:3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f 7d8e9f0a-1b2c-4d3e-9f4a-5b6c7d8e9f0a
        a=ssrc:3318574211 cname:QcdK8i0pA2nHj3Lf
        a=ssrc:3318574211 msid:3f5b9d1e-7a2c-4e6f-8b0d-2c4e6a8b0d1f 7d8e9f0a-1b2c-4d3e-9f4a-5b6c7d8e9f0a
        m=application 51423 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 127.0.0.1
        a=candidate:1467250027 1 udp 2122260223 127.0.0.1 51423 typ host generation 0 network-id 1
        a=ice-ufrag:EsAw
        a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y
        a=ice-options:trickle
        a=fingerprint:sha-256 \(chromiumFingerprint)
        a=setup:actpass
        a=mid:2
        a=sctp-port:5000
        a=max-message-size:262144

        """

    /// A WHEP player: recvonly audio and video, no ssrc or msid lines (it sends nothing).
    public static let whep = """
        v=0
        o=- 7203548213359581342 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0 1
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8
        c=IN IP4 0.0.0.0
        a=rtcp:9 IN IP4 0.0.0.0
        a=ice-ufrag:w0Ho
        a=ice-pwd:Lx3yVw7uP0a9QkS2dF5gH8jK
        a=ice-options:trickle
        a=fingerprint:sha-256 \(whepFingerprint)
        a=setup:actpass
        a=mid:0
        a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=recvonly
        a=rtcp-mux
        a=rtcp-rsize
        a=rtpmap:111 opus/48000/2
        a=rtcp-fb:111 transport-cc
        a=fmtp:111 minptime=10;useinbandfec=1
        a=rtpmap:63 red/48000/2
        a=fmtp:63 111/111
        a=rtpmap:9 G722/8000
        a=rtpmap:0 PCMU/8000
        a=rtpmap:8 PCMA/8000
        m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103
        c=IN IP4 0.0.0.0
        a=rtcp:9 IN IP4 0.0.0.0
        a=ice-ufrag:w0Ho
        a=ice-pwd:Lx3yVw7uP0a9QkS2dF5gH8jK
        a=ice-options:trickle
        a=fingerprint:sha-256 \(whepFingerprint)
        a=setup:actpass
        a=mid:1
        a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
        a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
        a=recvonly
        a=rtcp-mux
        a=rtcp-rsize
        a=rtpmap:96 VP8/90000
        a=rtcp-fb:96 goog-remb
        a=rtcp-fb:96 ccm fir
        a=rtcp-fb:96 nack
        a=rtcp-fb:96 nack pli
        a=rtpmap:97 rtx/90000
        a=fmtp:97 apt=96
        a=rtpmap:102 H264/90000
        a=rtcp-fb:102 nack
        a=rtcp-fb:102 nack pli
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
        a=rtpmap:103 rtx/90000
        a=fmtp:103 apt=102

        """

    public static let all: [(name: String, text: String)] = [("aiortc", aiortc), ("chromium", chromium), ("whep", whep)]

    /// The same text with CRLF line ends, as peers send it (RFC 8866 §5).
    public static func crlf(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
    }

    /// `text` with every line equal to `old` replaced by `new` (nil deletes it).
    public static func replacing(_ old: String, with new: String?, in text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .compactMap { $0 == old[...] ? new : String($0) }
            .joined(separator: "\n")
    }

    /// `text` without any line that starts with `prefix`.
    public static func removingLines(startingWith prefix: String, from text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix(prefix) }
            .joined(separator: "\n")
    }
}
