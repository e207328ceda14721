// The clip as encoded: real libvpx and libopus output, a keyframe to loop on, payloads within
// budget with a trailer slot where the trailer goes.

import RTP
import Testing
@testable import LoadTest

@Suite struct MediaClipTests {
    @Test func aSmallClipIsEncodedAndPacketized() throws {
        var settings = ClipSettings()
        settings.width = 320
        settings.height = 180
        settings.seconds = 1
        settings.videoKilobitsPerSecond = 600
        let clip = try MediaClip.encode(settings)
        #expect(clip.audio.count == 50)
        #expect(clip.video.count == 30)
        #expect(clip.video.map(\.isKeyframe) == [true] + Array(repeating: false, count: 29))
        #expect(clip.video[0].packets[0].payload.withUnsafeBytes { VP8.isKeyframe($0) })
        for frame in clip.video {
            #expect(frame.packets.allSatisfy { $0.payload.count <= settings.maxPayloadSize })
            #expect(frame.packets.map(\.hasTrailer) == Array(repeating: false, count: frame.packets.count - 1) + [true])
        }
        for packet in clip.audio {
            #expect(packet.hasTrailer)
            #expect(packet.payload[0] & 0x03 == 3)
        }
        // CBR lands near the target; a wide band, the pattern is synthetic.
        #expect(clip.videoBitsPerSecond > 200_000 && clip.videoBitsPerSecond < 1_500_000)
        #expect(clip.audioPacketsPerSecond == 50)
    }

    @Test func theTestPatternMoves() {
        let pattern = TestPattern(width: 64, height: 32)
        func frame(_ index: Int) -> [UInt8] {
            var y = [UInt8](repeating: 0, count: 64 * 32), u = [UInt8](repeating: 0, count: 32 * 16), v = u
            y.withUnsafeMutableBufferPointer { yp in
                u.withUnsafeMutableBufferPointer { up in
                    v.withUnsafeMutableBufferPointer { vp in
                        pattern.render(frame: index, y: yp.baseAddress!, yStride: 64, u: up.baseAddress!, v: vp.baseAddress!, chromaStride: 32)
                    }
                }
            }
            return y + u + v
        }
        #expect(frame(0) == frame(0))
        #expect(frame(0) != frame(1))
    }
}
