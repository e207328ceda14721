// ICE-TCP framing (RFC 4571 §2: a two-byte length before every datagram): the reader hands out
// the same datagrams however the stream is cut into reads (split headers, frames spread over
// many reads, many frames in one), skips frames longer than any datagram, and the send buffer
// queues whole frames or refuses them whole.

import ChorusTestSupport
import Testing
@testable import SFU

struct TCPFramingTests {
    private func framed(_ datagrams: [[UInt8]]) -> [UInt8] {
        datagrams.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
    }

    /// Feeds `stream` to a reader in reads of the given sizes and collects what it hands out.
    private func read(_ stream: [UInt8], in sizes: [Int], capacity: Int = 16_384) -> (datagrams: [[UInt8]], oversized: [Int]) {
        let reader = TCPFrameReader(capacity: capacity)
        var datagrams: [[UInt8]] = []
        var oversized: [Int] = []
        var offset = 0
        var sizes = sizes[...]
        while offset < stream.count {
            let size = min(sizes.popFirst() ?? stream.count, stream.count - offset)
            let taken = stream[offset..<offset + size].withUnsafeBytes { reader.append($0) }
            offset += taken
            while let frame = reader.next() {
                switch frame {
                case .datagram(let bytes): datagrams.append(Array(bytes))
                case .oversized(let length): oversized.append(length)
                }
            }
        }
        return (datagrams, oversized)
    }

    @Test func oneFrameArrivingByteByByte() {
        let datagram: [UInt8] = [0x00, 0x01, 0x00, 0x00] + [UInt8](repeating: 7, count: 16)
        let stream = framed([datagram])
        let result = read(stream, in: Array(repeating: 1, count: stream.count))
        #expect(result.datagrams == [datagram])
    }

    @Test func aLengthSplitBetweenTwoReads() {
        let datagram = [UInt8](repeating: 0xAB, count: 300)  // length 0x012C: both bytes matter
        let stream = framed([datagram])
        #expect(read(stream, in: [1, stream.count - 1]).datagrams == [datagram])
        #expect(read(stream, in: [2, 150, 150]).datagrams == [datagram])
    }

    @Test func manyFramesInOneRead() {
        let datagrams: [[UInt8]] = [[1], [2, 2], [], [128] + [UInt8](repeating: 3, count: 1199), [20, 21]]
        let result = read(framed(datagrams), in: [10_000])
        #expect(result.datagrams == datagrams)
        #expect(result.oversized.isEmpty)
    }

    /// Random datagrams cut at random places, through a reader barely larger than a frame, so
    /// that partial frames are moved to the front over and over.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomCutsGiveBackTheSameDatagrams(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let datagrams = (0..<300).map { _ in
            (0..<Int.random(in: 0...TCPFrameReader.maximumFrame, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        let stream = framed(datagrams)
        let sizes = (0..<stream.count).map { _ in Int.random(in: 1...3000, using: &random) }
        let result = read(stream, in: sizes, capacity: TCPFrameReader.maximumFrame + 2)
        #expect(result.datagrams == datagrams)
    }

    /// A frame longer than any datagram is skipped (even when it spans many reads) and the
    /// stream stays in step: the next frame comes out whole.
    @Test func oversizedFramesAreSkippedAndTheStreamStaysInStep() {
        let big = [UInt8](repeating: 0xEE, count: 60_000)
        let after: [UInt8] = [0x00, 0x01, 0x00, 0x00, 1, 2, 3, 4]
        let stream = framed([[9], big, after])
        let result = read(stream, in: Array(repeating: 4096, count: 20))
        #expect(result.datagrams == [[9], after])
        #expect(result.oversized == [60_000])
        let largest = [UInt8](repeating: 1, count: TCPFrameReader.maximumFrame)
        #expect(read(framed([largest]), in: [700, 700, 700]).datagrams == [largest])
    }

    @Test func theSendBufferQueuesWholeFramesAcrossItsEnd() throws {
        let buffer = TCPSendBuffer(capacity: 2 + TCPFrameReader.maximumFrame + 100)
        func append(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { buffer.append($0) } }
        func take(_ count: Int) -> [UInt8] {
            let (first, second) = buffer.pending()
            let all = Array(first) + Array(second)
            buffer.consume(count)
            return Array(all.prefix(count))
        }
        let a = [UInt8](repeating: 0xA, count: 2000), b = [UInt8](repeating: 0xB, count: 1000)
        #expect(append(a))
        #expect(!append(b), "a frame that does not fit whole is refused")
        #expect(buffer.count == 2002)
        #expect(take(1500) == [0x07, 0xD0] + a.prefix(1498))
        #expect(append(b), "room again once the front was written; this one wraps around")
        let (first, second) = buffer.pending()
        #expect(first.count + second.count == 502 + 1002)
        #expect(second.count > 0)
        #expect(Array(first) + Array(second) == Array(a.suffix(502)) + [0x03, 0xE8] + b)
        buffer.consume(buffer.count)
        #expect(buffer.isEmpty)
        #expect(append([]), "an empty datagram is a two-byte frame")
        #expect(buffer.count == 2)
    }
}
