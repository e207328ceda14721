// The floor measurement really forwards: every incoming packet goes out once per subscriber,
// nothing is refused by the kernel, and some CPU time was spent. (No timing thresholds.)

import RTP
import SFU
import Testing

struct ForwardingFloorTests {
    @Test(arguments: [SRTPProfile.aeadAes128Gcm, .aes128CmHmacSha1_80])
    func forwardsEveryPacketToEverySubscriber(profile: SRTPProfile) throws {
        let result = try ForwardingFloor.measure(fanout: 3, profile: profile, payloadBytes: 1000, incomingPackets: 3000)
        #expect(result.incomingPackets == 3000)
        #expect(result.outgoingPackets == 9000)
        #expect(result.sendErrors == 0)
        #expect(result.cpuSeconds > 0)
        #expect(result.nanosecondsPerOutgoingPacket > 0)
        #expect(result.gsoDatagrams > 0)  // equal-size packets to each subscriber: GSO runs (Linux ≥ 4.18)
    }
}
