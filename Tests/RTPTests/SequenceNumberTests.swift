// Wrap-around arithmetic and unwrapping of RTP sequence numbers, timestamps and NTP times.
import RTP
import Testing

@Suite struct SequenceNumberTests {
    @Test func addAndSubtractWrapAt16Bits() {
        #expect(SequenceNumber(65535) &+ 1 == SequenceNumber(0))
        #expect(SequenceNumber(65530) &+ 10 == SequenceNumber(4))
        #expect(SequenceNumber(0) &- 1 == SequenceNumber(65535))
        #expect(SequenceNumber(3) &- 5 == SequenceNumber(65534))
        #expect(SequenceNumber(rawValue: 7).rawValue == 7)
        #expect(SequenceNumber(42).description == "42")
    }

    @Test func distanceIsShortestAndSigned() {
        #expect(SequenceNumber(65535).distance(to: 0) == 1)
        #expect(SequenceNumber(0).distance(to: 65535) == -1)
        #expect(SequenceNumber(10).distance(to: 10) == 0)
        #expect(SequenceNumber(0).distance(to: 32767) == 32767)
        #expect(SequenceNumber(0).distance(to: 32768) == -32768)
        #expect(SequenceNumber(32768).distance(to: 0) == -32768)
        #expect(SequenceNumber(65000).distance(to: 500) == 1036)
        #expect(SequenceNumber(500).distance(to: 65000) == -1036)
    }

    @Test(arguments: [0, 1, 100, 32767, 32768, 40000, 65534, 65535] as [UInt16])
    func distanceMatchesAddition(start: UInt16) {
        let s = SequenceNumber(start)
        for step in [0, 1, 2, 1000, 32766, 32767] as [UInt16] {
            #expect(s.distance(to: s &+ step) == Int(step))
            #expect((s &+ step).distance(to: s) == -Int(step))
            #expect((s &+ step) &- step == s)
        }
    }

    @Test func newerAcrossTheWrap() {
        #expect(SequenceNumber(0).isNewer(than: 65535))
        #expect(!SequenceNumber(65535).isNewer(than: 0))
        #expect(SequenceNumber(100).isNewer(than: 65000))
        #expect(!SequenceNumber(5).isNewer(than: 5))
        // Exactly half the space apart: neither is newer.
        #expect(!SequenceNumber(0).isNewer(than: 32768))
        #expect(!SequenceNumber(32768).isNewer(than: 0))
    }

    @Test func unwrapperFollowsSeveralWraps() {
        var unwrapper = SequenceNumberUnwrapper()
        let start: Int64 = 65530
        for i in 0..<50_000 {
            let expected = start + Int64(i) * 7  // about five wraps
            let s = SequenceNumber(UInt16(truncatingIfNeeded: expected))
            #expect(unwrapper.unwrap(s) == expected)
        }
    }

    @Test func unwrapperPlacesReorderedPackets() {
        var unwrapper = SequenceNumberUnwrapper()
        let input: [UInt16] = [65534, 65535, 1, 0, 2, 65535, 3, 4]
        let output = input.map { unwrapper.unwrap(SequenceNumber($0)) }
        #expect(output == [65534, 65535, 65537, 65536, 65538, 65535, 65539, 65540])
    }

    @Test func unwrapperGoesBackwardsAcrossWrapsToo() {
        var unwrapper = SequenceNumberUnwrapper()
        #expect(unwrapper.unwrap(5) == 5)
        #expect(unwrapper.unwrap(65535) == -1)  // late packet from before the first one
        var expected: Int64 = -1
        var s = SequenceNumber(65535)
        for _ in 0..<10_000 {
            s = s &- 20
            expected -= 20
            #expect(unwrapper.unwrap(s) == expected)
        }
    }
}

@Suite struct RTPTimestampTests {
    @Test func wrapsAt32Bits() {
        #expect(RTPTimestamp(UInt32.max) &+ 1 == RTPTimestamp(0))
        #expect(RTPTimestamp(0) &- 1 == RTPTimestamp(UInt32.max))
        #expect(RTPTimestamp(UInt32.max - 1000) &+ 3000 == RTPTimestamp(1999))
    }

    @Test func distanceIsShortestAndSigned() {
        #expect(RTPTimestamp(UInt32.max).distance(to: 0) == 1)
        #expect(RTPTimestamp(0).distance(to: RTPTimestamp(UInt32.max)) == -1)
        #expect(RTPTimestamp(0).distance(to: RTPTimestamp(0x7FFF_FFFF)) == 0x7FFF_FFFF)
        #expect(RTPTimestamp(0).distance(to: RTPTimestamp(0x8000_0000)) == -0x8000_0000)
        #expect(RTPTimestamp(4_294_960_000).distance(to: 3000) == 10296)
        #expect(RTPTimestamp(3000).isNewer(than: 4_294_960_000))
        #expect(!RTPTimestamp(4_294_960_000).isNewer(than: 3000))
        #expect(!RTPTimestamp(9).isNewer(than: 9))
    }

    @Test func unwrapperFollowsSeveralWraps() {
        var unwrapper = RTPTimestampUnwrapper()
        let start: Int64 = 4_294_000_000
        for i in 0..<100 {
            let expected = start + Int64(i) * 1_000_000_000  // a wrap every few steps
            #expect(unwrapper.unwrap(RTPTimestamp(UInt32(truncatingIfNeeded: expected))) == expected)
        }
    }

    @Test func unwrapperPlacesReorderedTimestamps() {
        var unwrapper = RTPTimestampUnwrapper()
        let max = Int64(UInt32.max)
        let input: [UInt32] = [UInt32.max - 3000, 0, UInt32.max - 6000, 3000, 6000]
        let output = input.map { unwrapper.unwrap(RTPTimestamp($0)) }
        #expect(output == [max - 3000, max + 1, max - 6000, max + 3001, max + 6001])
    }
}

@Suite struct NTPTimeTests {
    @Test func unixEpochIsNTPSecond2208988800() {
        #expect(NTPTime.fromUnixNanoseconds(0) == 2_208_988_800 << 32)
    }

    @Test func fractionIsBinary() {
        let ntp = NTPTime.fromUnixNanoseconds(1_500_000_000)
        #expect(ntp >> 32 == 2_208_988_801)
        #expect(ntp & 0xFFFF_FFFF == 0x8000_0000)
        let quarter = NTPTime.fromUnixNanoseconds(250_000_000)
        #expect(quarter & 0xFFFF_FFFF == 0x4000_0000)
    }

    @Test func middle32IsSixteenDotSixteen() {
        #expect(NTPTime.middle32(0x1122_3344_5566_7788) == 0x3344_5566)
        let ntp = NTPTime.fromUnixNanoseconds(1_700_000_000_500_000_000)
        #expect(NTPTime.middle32(ntp) & 0xFFFF == 0x8000)
    }

    @Test func secondsWrapAtTheEra() {
        // 2036-02-07T06:28:16Z is NTP second 2^32: era 1 starts at 0 again.
        let ns: UInt64 = (1 << 32 - 2_208_988_800) * 1_000_000_000
        #expect(NTPTime.fromUnixNanoseconds(ns) == 0)
    }
}
