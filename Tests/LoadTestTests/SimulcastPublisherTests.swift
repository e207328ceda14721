// A `--simulcast` publisher: its offer is Chromium's RID simulcast and Chorus's own negotiator
// reads three layers from it; the clip is encoded at a quarter, half and full size; every
// video packet names its layer in the RID extension the negotiator agreed on.

import RTP
import SDP
import SFU
import ICE
import Testing
@testable import LoadTest

@Suite struct SimulcastPublisherTests {
    static let offer = SDPOffer(
        ice: ICECredentials(ufrag: "abcdefgh", pwd: "abcdefghijklmnopqrstuvwx"),
        fingerprint: DTLSFingerprint(algorithm: "sha-256", bytes: Array(0..<32)), localPort: 50_000, sessionID: 42)

    /// The video m= section's lines (from its m= line to the end of the offer).
    static func videoLines(_ text: String) -> [String] {
        let lines = text.components(separatedBy: "\r\n")
        return Array(lines[lines.firstIndex { $0.hasPrefix("m=video") }!...])
    }

    @Test func theOfferHasChromiumsSimulcastLines() {
        let text = Self.offer.publish(audioSSRC: 1111, simulcastRIDs: SimulcastLayout.rids, cname: "alice")
        let video = Self.videoLines(text)
        for required in [
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
            "a=rid:q send", "a=rid:h send", "a=rid:f send", "a=simulcast:send q;h;f", "a=sendonly",
            "a=msid:loadtest-alice video",
        ] {
            #expect(video.contains(required), "missing \(required)")
        }
        // As Chromium: no SSRC for the layers (they are learnt from the RID), lowest RID first.
        #expect(!video.contains { $0.hasPrefix("a=ssrc") })
        #expect(video.filter { $0.hasPrefix("a=rid:") } == ["a=rid:q send", "a=rid:h send", "a=rid:f send"])
        // The audio still names its SSRC; the single-stream offer is unchanged.
        #expect(text.contains("a=ssrc:1111 cname:alice\r\n"))
        let plain = Self.offer.publish(audioSSRC: 1111, videoSSRC: 2222, cname: "alice")
        #expect(!plain.contains("a=rid") && !plain.contains("a=simulcast") && !plain.contains("rtp-stream-id"))
    }

    @Test func chorusNegotiatesThreeRIDLayers() throws {
        let negotiated = try SDPNegotiator.negotiate(
            offer: Self.offer.publish(audioSSRC: 1111, simulcastRIDs: SimulcastLayout.rids, cname: "alice"))
        let video = try #require(negotiated.media.first { $0.kind == .video })
        #expect(video.simulcast == SimulcastLayers(rids: ["q", "h", "f"]))
        #expect(video.ssrc == nil)
        let uris = Set(video.headerExtensions.map(\.uri))
        #expect(uris.isSuperset(of: [HeaderExtension.sdesMID, HeaderExtension.rtpStreamID, HeaderExtension.repairedRTPStreamID]))
    }

    @Test func layersAreAQuarterHalfAndTheFullSize() throws {
        #expect(SimulcastLayout.layers.map { SimulcastLayout.size(of: $0, width: 640, height: 360) }.map { [$0.width, $0.height] }
            == [[160, 90], [320, 180], [640, 360]])
        // Odd results round down to even (I420).
        #expect(SimulcastLayout.layers.map { SimulcastLayout.size(of: $0, width: 320, height: 180) }.map { [$0.width, $0.height] }
            == [[80, 44], [160, 90], [320, 180]])
        #expect(SimulcastLayout.layers.map { SimulcastLayout.kilobitsPerSecond(of: $0, full: 1500) } == [120, 420, 1500])
        #expect(SimulcastLayout.kilobitsPerSecond(of: SimulcastLayout.layers[0], full: 300) == 50)

        var settings = ClipSettings()
        settings.width = 320
        settings.height = 180
        settings.seconds = 1
        settings.videoKilobitsPerSecond = 600
        settings.simulcast = true
        let clip = try MediaClip.encode(settings)
        #expect(clip.layers.map(\.rid) == ["q", "h", "f"])
        #expect(clip.layers.map(\.kilobitsPerSecond) == [50, 168, 600])
        // The full layer is the single-layer clip itself.
        #expect(clip.layers[2].frames == clip.video)
        for (layer, size) in zip(clip.layers, [(80, 44), (160, 90), (320, 180)]) {
            #expect(layer.width == size.0 && layer.height == size.1)
            #expect(layer.frames.count == 30 && layer.frames[0].isKeyframe)
            // What the decoder will see: the VP8 keyframe header's size (RFC 6386 §9.1), after
            // the payload descriptor (RFC 7741 §4.2) of the frame's first packet.
            let payload = layer.frames[0].packets[0].payload
            let descriptor = try payload.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
            let frame = Array(payload[descriptor.length...])
            #expect(frame[3...5] == [0x9D, 0x01, 0x2A])
            #expect(Int(frame[6]) | Int(frame[7] & 0x3F) << 8 == size.0)
            #expect(Int(frame[8]) | Int(frame[9] & 0x3F) << 8 == size.1)
        }
        // Smaller layers cost less.
        let rates = clip.layers.indices.map { clip.videoBitsPerSecond(layer: $0) }
        #expect(rates[0] < rates[1] && rates[1] < rates[2])
        let summary = try #require(ClipSummary(clip).simulcastLayers)
        #expect(summary.map(\.width) == [80, 160, 320])
    }

    @Test func everyVideoPacketCarriesItsLayersRID() throws {
        let negotiated = try SDPNegotiator.negotiate(
            offer: Self.offer.publish(audioSSRC: 1111, simulcastRIDs: SimulcastLayout.rids, cname: "alice"))
        let video = try #require(negotiated.media.first { $0.kind == .video })
        // The ids as the SFU will read them, not our own constants.
        let ridID = try #require(video.headerExtensions.first { $0.uri == HeaderExtension.rtpStreamID }?.id)
        let midID = try #require(video.headerExtensions.first { $0.uri == HeaderExtension.sdesMID }?.id)

        let media = PublisherMedia(
            clip: Self.tinySimulcastClip(), publisherIndex: 3, audioSSRC: 1, videoSSRCs: [10, 20, 30], audioLog: SendLog(),
            videoLogs: [SendLog(), SendLog(), SendLog()])
        #expect(media.videoStreams.map(\.ssrc) == [10, 20, 30])
        for (stream, rid) in zip(media.videoStreams, ["q", "h", "f"]) {
            // The header ClientTransport.sendRTP writes for this stream.
            var bytes = [UInt8](repeating: 0, count: 64)
            let length = bytes.withUnsafeMutableBytes { buffer in
                var writer = OneByteExtensionWriter(
                    packet: buffer, headerLength: RTPHeaderWriter.writeFixedHeader(
                        marker: false, payloadType: 96, sequenceNumber: 1, timestamp: RTPTimestamp(rawValue: 1), ssrc: stream.ssrc,
                        into: buffer))
                for (id, data) in stream.extensions { #expect(data.withUnsafeBytes { writer.append(id: id, data: $0) }) }
                return writer.finish()
            }
            bytes[length] = 0x10  // one payload byte
            let packet = try bytes[0...length].withUnsafeBytes { try RTPPacket(parsing: $0) }
            #expect(packet.headerExtension(id: ridID).map { String(decoding: $0, as: UTF8.self) } == rid)
            #expect(packet.headerExtension(id: midID).map { String(decoding: $0, as: UTF8.self) } == OfferFormat.videoMID)
            // Each layer has a trailer id of its own, so subscribers tell them apart.
            #expect(stream.streamID == SendTimeTrailer.streamID(publisher: 3, video: true, layer: stream.layer!))
        }
        #expect(Set(media.videoStreams.map(\.streamID)).count == 3)
    }

    /// Three layers of one one-packet keyframe each: enough for the streams' set-up.
    static func tinySimulcastClip() -> MediaClip {
        let frame = ClipVideoFrame(packets: [ClipPacket(payload: [0x10] + Array(repeating: 0, count: 40), hasTrailer: true)], isKeyframe: true, encodedSize: 20)
        var settings = ClipSettings()
        settings.simulcast = true
        return MediaClip(
            settings: settings, audio: [ClipPacket(payload: Array(repeating: 0, count: 30), hasTrailer: true)], video: [frame],
            layers: ["q", "h", "f"].map { ClipVideoLayer(rid: $0, width: 16, height: 16, kilobitsPerSecond: 100, frames: [frame]) })
    }
}
