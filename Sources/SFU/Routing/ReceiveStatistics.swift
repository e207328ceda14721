// Reception statistics of one incoming RTP stream, as RFC 3550 §6.4.1 and Appendix A.3/A.8
// define them: what the SFU reports back to the publisher in its receiver reports.

import RTP

struct ReceiveStatistics {
    private var unwrapper = SequenceNumberUnwrapper()
    private var baseSequence: Int64 = 0
    private(set) var highestSequence: Int64 = -1
    private(set) var received: Int64 = 0
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0
    /// Interarrival jitter in timestamp units, times 16 (A.8's fixed-point form).
    private var jitterQ4: Int64 = 0
    private var lastTransit: Int64?
    /// Middle 32 bits of the NTP time of the last sender report, and when it arrived.
    private var lastSenderReport: UInt32 = 0
    private var lastSenderReportArrival: ContinuousClock.Instant?

    var hasReceived: Bool { received > 0 }

    mutating func record(sequence: SequenceNumber, timestamp: RTPTimestamp, clockRate: UInt32, arrival: ContinuousClock.Instant, epoch: ContinuousClock.Instant) {
        let extended = unwrapper.unwrap(sequence)
        if received == 0 {
            baseSequence = extended
            highestSequence = extended - 1
        }
        received += 1
        if extended > highestSequence { highestSequence = extended }
        // Transit time in timestamp units; only differences matter, so any epoch works.
        let elapsed = arrival - epoch
        let arrivalUnits = Int64(elapsed.components.seconds) * Int64(clockRate)
            + Int64(elapsed.components.attoseconds / 1_000_000_000) * Int64(clockRate) / 1_000_000_000
        let transit = arrivalUnits - Int64(timestamp.rawValue)
        if let last = lastTransit {
            // A.8 subtracts in 32 bits: across an RTP timestamp wrap the transit jumps by 2^32,
            // and only the wrapped difference is the real change.
            let d = abs(Int64(Int32(truncatingIfNeeded: transit - last)))
            jitterQ4 += d - ((jitterQ4 + 8) >> 4)
        }
        lastTransit = transit
    }

    mutating func recordSenderReport(ntpTimestamp: UInt64, arrival: ContinuousClock.Instant) {
        lastSenderReport = NTPTime.middle32(ntpTimestamp)
        lastSenderReportArrival = arrival
    }

    /// A report block for this stream; updates the interval counters (A.3).
    mutating func reportBlock(ssrc: UInt32, now: ContinuousClock.Instant) -> ReportBlock {
        let expected = highestSequence - baseSequence + 1
        let lost = max(-0x80_0000, min(0x7F_FFFF, expected - received))
        let expectedInterval = expected - expectedPrior
        let receivedInterval = received - receivedPrior
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        let fraction: UInt8 =
            expectedInterval <= 0 || lostInterval <= 0 ? 0 : UInt8(min(255, (lostInterval << 8) / expectedInterval))
        var delay: UInt32 = 0
        if let arrival = lastSenderReportArrival {
            // DLSR in units of 1/65536 s.
            let d = now - arrival
            let units = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            delay = UInt32(clamping: Int64(units * 65536))
        }
        return ReportBlock(
            ssrc: ssrc, fractionLost: fraction, cumulativeLost: Int32(lost),
            extendedHighestSequence: UInt32(truncatingIfNeeded: highestSequence),
            jitter: UInt32(clamping: jitterQ4 >> 4), lastSenderReport: lastSenderReport,
            delaySinceLastSenderReport: delay)
    }
}
