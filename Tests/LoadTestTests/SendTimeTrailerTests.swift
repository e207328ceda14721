// The send-time trailer: its wire form, that random payloads do not fake one, and that media
// carrying it still decodes to the same samples and pictures with libopus and libvpx.

import COpus
import CVPX
import Testing
@testable import LoadTest

@Suite struct SendTimeTrailerTests {
    @Test func roundTrips() {
        var payload = [UInt8](repeating: 0xAA, count: 64)
        let trailer = SendTimeTrailer(streamID: 0xDEAD_BEEF, sequenceNumber: 65_535, sendTime: 123_456_789_012)
        payload.withUnsafeMutableBytes { trailer.write(atEndOf: $0) }
        #expect(payload[0..<44].allSatisfy { $0 == 0xAA })
        #expect(payload.withUnsafeBytes { SendTimeTrailer(endOf: $0) } == trailer)
        #expect(payload.dropLast().withUnsafeBytes { SendTimeTrailer(endOf: UnsafeRawBufferPointer(rebasing: $0[...])) } == nil)
    }

    @Test func randomPayloadsCarryNoTrailer() {
        var generator = SplitMix64(seed: 99)
        for length in 0..<2000 {
            let payload = (0..<(length % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            #expect(payload.withUnsafeBytes { SendTimeTrailer(endOf: $0) } == nil)
        }
    }

    @Test func streamIDsSeparatePublishersAndKinds() {
        #expect(SendTimeTrailer.streamID(publisher: 0, video: false) == 0)
        #expect(SendTimeTrailer.streamID(publisher: 0, video: true) == 1)
        #expect(SendTimeTrailer.streamID(publisher: 7, video: true) == 15)
    }

    @Test func opusPaddingKeepsTheFrameAndMarksCodeThree() throws {
        let packet: [UInt8] = [0xFC, 1, 2, 3, 4]
        let padded = try OpusPadding.pad(packet, padding: 20)
        #expect(padded[0] == 0xFF)  // same config and stereo flag, code 3
        #expect(padded[1] == 0x41)  // CBR, padding, one frame
        #expect(padded[2] == 20)
        #expect(Array(padded[3..<7]) == [1, 2, 3, 4])
        #expect(padded.count == 7 + 20)
        let long = try OpusPadding.pad(packet, padding: 300)
        #expect(Array(long[2..<4]) == [255, 46])  // 254 + 46
        #expect(long.count == 4 + 4 + 300)
        #expect(throws: LoadTestError.self) { try OpusPadding.pad([0xFD, 1, 2], padding: 20) }
        #expect(throws: LoadTestError.self) { try OpusPadding.pad([], padding: 20) }
    }

    @Test func opusWithATrailerDecodesToTheSameSamples() throws {
        let packets = try OpusClipEncoder.encode(packets: 10, bitsPerSecond: 32_000)
        var error: Int32 = 0
        let plain = try #require(opus_decoder_create(48_000, 2, &error))
        let padded = try #require(opus_decoder_create(48_000, 2, &error))
        defer {
            opus_decoder_destroy(plain)
            opus_decoder_destroy(padded)
        }
        for (i, packet) in packets.enumerated() {
            var withTrailer = try OpusPadding.pad(packet, padding: SendTimeTrailer.length)
            withTrailer.withUnsafeMutableBytes {
                SendTimeTrailer(streamID: 3, sequenceNumber: UInt16(i), sendTime: 0xFFFF_FFFF_FFFF).write(atEndOf: $0)
            }
            let a = decode(packet, with: plain)
            let b = decode(withTrailer, with: padded)
            #expect(a.count == 960 * 2)
            #expect(a == b, "packet \(i) decodes differently with the trailer")
        }
    }

    func decode(_ packet: [UInt8], with decoder: OpaquePointer) -> [Int16] {
        var pcm = [Int16](repeating: 0, count: 5760 * 2)
        let samples = packet.withUnsafeBufferPointer { input in
            pcm.withUnsafeMutableBufferPointer { output in
                opus_decode(decoder, input.baseAddress!, Int32(input.count), output.baseAddress!, 5760, 0)
            }
        }
        return samples > 0 ? Array(pcm[0..<Int(samples) * 2]) : []
    }

    @Test func vp8WithATrailerDecodesToTheSamePictures() throws {
        let pattern = TestPattern(width: 160, height: 96)
        let frames = try VP8ClipEncoder.encode(frames: 6, pattern: pattern, framesPerSecond: 30, kilobitsPerSecond: 300, keyframeInterval: 6)
        #expect(frames.map(\.isKeyframe) == [true, false, false, false, false, false])
        var plain = vpx_codec_ctx_t()
        var trailed = vpx_codec_ctx_t()
        #expect(chorus_vpx_vp8_decoder_init(&plain) == VPX_CODEC_OK)
        #expect(chorus_vpx_vp8_decoder_init(&trailed) == VPX_CODEC_OK)
        defer {
            vpx_codec_destroy(&plain)
            vpx_codec_destroy(&trailed)
        }
        for (i, frame) in frames.enumerated() {
            var withTrailer = frame.bytes + [UInt8](repeating: 0, count: SendTimeTrailer.length)
            withTrailer.withUnsafeMutableBytes {
                SendTimeTrailer(streamID: 1, sequenceNumber: UInt16(i), sendTime: 987_654_321).write(atEndOf: $0)
            }
            let a = try decode(frame.bytes, with: &plain)
            let b = try decode(withTrailer, with: &trailed)
            #expect(a.count == 160 * 96 * 3 / 2)
            #expect(a == b, "frame \(i) decodes differently with the trailer")
        }
    }

    func decode(_ frame: [UInt8], with codec: inout vpx_codec_ctx_t) throws -> [UInt8] {
        let status = frame.withUnsafeBufferPointer { vpx_codec_decode(&codec, $0.baseAddress, UInt32($0.count), nil, 0) }
        try #require(status == VPX_CODEC_OK)
        var iterator: vpx_codec_iter_t? = nil
        let image = try #require(vpx_codec_get_frame(&codec, &iterator))
        var pixels: [UInt8] = []
        let width = Int(image.pointee.d_w), height = Int(image.pointee.d_h)
        let planes = [image.pointee.planes.0!, image.pointee.planes.1!, image.pointee.planes.2!]
        let strides = [Int(image.pointee.stride.0), Int(image.pointee.stride.1), Int(image.pointee.stride.2)]
        for plane in 0..<3 {
            let (w, h) = plane == 0 ? (width, height) : (width / 2, height / 2)
            for row in 0..<h { pixels += UnsafeBufferPointer(start: planes[plane] + row * strides[plane], count: w) }
        }
        return pixels
    }
}
