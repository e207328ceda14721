// Transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) byte for byte:
// the chunk kinds, small and large deltas, padding; and RFC 3611 XR RRTR/DLRR, RTX (RFC 4588).

import Testing
@testable import RTP

@Suite struct TransportFeedbackTests {
    private func serialize(_ packet: RTCPPacket) -> [UInt8] { RTCPCompound.serialize([packet]) }

    private func parse(_ bytes: [UInt8]) throws -> [RTCPPacket] {
        try bytes.withUnsafeBytes { try RTCPCompound.parse($0) }
    }

    @Test func aTwoBitVectorWithSmallAndLargeDeltasAndPadding() throws {
        let reference: Int64 = 10 * 256
        let feedback = TransportFeedback(
            senderSSRC: 1, mediaSSRC: 2, baseSequence: 100, feedbackCount: 7, referenceTime: 10,
            arrivals: [reference + 4, nil, reference + 304])
        let wire = serialize(.transportFeedback(feedback))
        #expect(wire == [
            0xAF, 205, 0, 6,  // V=2, P, FMT 15; 7 words
            0, 0, 0, 1, 0, 0, 0, 2,  // SSRCs
            0, 100, 0, 3,  // base sequence 100, 3 statuses
            0, 0, 10, 7,  // reference time 10 (640 ms), feedback count 7
            0xD2, 0x00,  // two-bit vector: small, not received, large
            4, 0x01, 0x2C,  // deltas: 4 ticks (1 ms), then 300 ticks (75 ms) in two bytes
            0, 0, 3,  // padding
        ])
        #expect(try parse(wire) == [.transportFeedback(feedback)])
    }

    @Test func runLengthAndOneBitVectorChunks() throws {
        // 20 packets each 1 ms apart: one run-length chunk of small deltas.
        let run = TransportFeedback(
            senderSSRC: 9, mediaSSRC: 0, baseSequence: 65530, feedbackCount: 255, referenceTime: -2,
            arrivals: (0..<20).map { Int64(-512 + 4 * $0) })
        let runWire = serialize(.transportFeedback(run))
        #expect(Array(runWire[12..<16]) == [0xFF, 0xFA, 0, 20])
        #expect(Array(runWire[16..<20]) == [0xFF, 0xFF, 0xFE, 0xFF], "reference -2 in 24 bits, count 255")
        #expect(Array(runWire[20..<22]) == [0x20, 20], "run of 20 small-delta symbols")
        #expect(try parse(runWire) == [.transportFeedback(run)])

        // Alternating received and lost, all small: one-bit vectors of 14.
        let alternating: [Int64?] = (0..<16).map { $0 % 2 == 0 ? Int64(8 * $0) : nil }
        let vector = TransportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 0, feedbackCount: 0, referenceTime: 0, arrivals: alternating)
        let vectorWire = serialize(.transportFeedback(vector))
        #expect(Array(vectorWire[20..<22]) == [0b1010_1010, 0b1010_1010], "1, S=0, then 1 0 1 0 ...")
        #expect(try parse(vectorWire) == [.transportFeedback(vector)])
    }

    @Test func truncatedFeedbackIsRefused() throws {
        let feedback = TransportFeedback(
            senderSSRC: 1, mediaSSRC: 2, baseSequence: 1, feedbackCount: 0, referenceTime: 0, arrivals: [1, 2, 900])
        var wire = serialize(.transportFeedback(feedback))
        // Claim more statuses than the chunks hold.
        wire[15] = 200
        #expect(throws: RTCPParseError.self) { try parse(wire) }
    }

    @Test func extendedReportBlocksRoundTrip() throws {
        let report = ExtendedReport(
            senderSSRC: 5, receiverReferenceTime: 0x1122_3344_5566_7788,
            delaysSinceLastReceiverReport: [.init(ssrc: 6, lastReceiverReport: 0x3344_5566, delay: 655)])
        let wire = serialize(.extendedReport(report))
        #expect(Array(wire[0..<4]) == [0x80, 207, 0, 8])
        #expect(Array(wire[8..<12]) == [4, 0, 0, 2], "RRTR, 2 words")
        #expect(Array(wire[20..<24]) == [5, 0, 0, 3], "DLRR, 3 words")
        #expect(try parse(wire) == [.extendedReport(report)])
    }

    @Test func rtxUnwrapsInPlace() throws {
        // Header (PT 97, seq 500, SSRC 0xAAAA) with one extension element, OSN 0x1234, payload.
        var bytes: [UInt8] = [0x90, 97, 0x01, 0xF4, 0, 0, 0x30, 0x39, 0, 0, 0xAA, 0xAA, 0xBE, 0xDE, 0, 1, 0x10, 0x31, 0, 0]
        bytes += [0x12, 0x34, 9, 8, 7]
        let length = try bytes.withUnsafeMutableBytes { buffer -> Int? in
            let packet = try RTPPacket(parsing: UnsafeRawBufferPointer(buffer))
            #expect(RTX.originalSequence(of: packet) == SequenceNumber(0x1234))
            return RTX.unwrap(buffer, packet: packet, payloadType: 96, ssrc: 0xBBBB)
        }
        let original = try #require(length)
        try bytes.withUnsafeBytes { buffer in
            let packet = try RTPPacket(parsing: UnsafeRawBufferPointer(rebasing: buffer[0..<original]))
            #expect(packet.payloadType == 96 && packet.sequenceNumber == SequenceNumber(0x1234) && packet.ssrc == 0xBBBB)
            #expect(Array(packet.payload) == [9, 8, 7])
            #expect(packet.headerExtension(id: 1).map(Array.init) == [0x31])
        }
        // An RTX packet with nothing after the OSN is a probe: no original.
        var probe: [UInt8] = [0x80, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x12, 0x34]
        let none = try probe.withUnsafeMutableBytes { buffer in
            RTX.unwrap(buffer, packet: try RTPPacket(parsing: UnsafeRawBufferPointer(buffer)), payloadType: 96, ssrc: 1)
        }
        #expect(none == nil)
    }
}
