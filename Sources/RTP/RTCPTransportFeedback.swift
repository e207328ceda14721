// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
// §3.1, RTPFB FMT 15): for a run of transport-wide sequence numbers, which packets arrived and
// when, so that the sender's estimator (GoogCC) sees the delay and loss on its path.
//
// On the wire: base sequence, status count, a 24-bit reference time (64 ms units) and a
// feedback count; then packet chunks (run-length, or vectors of 1-bit or 2-bit symbols) and a
// receive delta (250 µs units) per received packet: one unsigned byte when it fits, else two
// signed bytes. The packet ends 32-bit aligned with RTCP padding.

public struct TransportFeedback: Equatable, Sendable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    /// The transport-wide sequence number of the first packet described.
    public var baseSequence: UInt16
    /// The feedback packet's own counter (wraps), so the sender can tell lost feedback.
    public var feedbackCount: UInt8
    /// Reference time in 64 ms units, 24 bits signed on the wire; arrivals are relative to it.
    public var referenceTime: Int32
    /// One entry per sequence number from `baseSequence` on: the arrival time in 250 µs ticks on
    /// the scale where the reference time is `referenceTime` × 256 ticks (so the first received
    /// packet's delta is its entry minus that), or nil for a packet not received.
    public var arrivals: [Int64?]

    public init(
        senderSSRC: UInt32, mediaSSRC: UInt32, baseSequence: UInt16, feedbackCount: UInt8, referenceTime: Int32,
        arrivals: [Int64?]
    ) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequence = baseSequence
        self.feedbackCount = feedbackCount
        self.referenceTime = referenceTime
        self.arrivals = arrivals
    }

    static let format: UInt8 = 15
    /// 250 µs receive-delta ticks in one 64 ms reference-time unit.
    public static let ticksPerReferenceUnit: Int64 = 256
    /// The most packets one chunk's run length can describe, and the draft's status count limit.
    static let maximumRun = 8191

    enum Symbol: UInt8 {
        case notReceived = 0, smallDelta = 1, largeDelta = 2
    }

    /// Whether every received packet's delta fits the two-byte form; a recorder starts a new
    /// feedback packet before one that would not.
    public static func fits(delta: Int64) -> Bool { delta >= Int64(Int16.min) && delta <= Int64(Int16.max) }

    /// The receive deltas in order (ticks from the previous received packet, the first one from
    /// the reference time), and each sequence number's symbol.
    private var deltasAndSymbols: (deltas: [Int64], symbols: [Symbol]) {
        var previous = Int64(referenceTime) * Self.ticksPerReferenceUnit
        var deltas: [Int64] = []
        var symbols: [Symbol] = []
        symbols.reserveCapacity(arrivals.count)
        for arrival in arrivals {
            guard let arrival else {
                symbols.append(.notReceived)
                continue
            }
            let delta = arrival - previous
            previous = arrival
            deltas.append(delta)
            symbols.append((0...255).contains(delta) ? .smallDelta : .largeDelta)
        }
        return (deltas, symbols)
    }

    func serialize(into out: inout [UInt8]) {
        let (deltas, symbols) = deltasAndSymbols
        let start = out.beginRTCPPacket(count: Self.format, type: RTCPPacketType.transportFeedback)
        out.appendBE32(senderSSRC)
        out.appendBE32(mediaSSRC)
        out.appendBE16(baseSequence)
        out.appendBE16(UInt16(clamping: symbols.count))
        let reference = UInt32(bitPattern: referenceTime) & 0xFF_FFFF
        out.appendBE32(reference << 8 | UInt32(feedbackCount))
        for chunk in Self.chunks(symbols) { out.appendBE16(chunk) }
        for (delta, symbol) in zip(deltas, symbols.filter { $0 != .notReceived }) {
            if symbol == .smallDelta {
                out.append(UInt8(delta))
            } else {
                out.appendBE16(UInt16(bitPattern: Int16(clamping: delta)))
            }
        }
        // RTCP padding (RFC 3550 §6.4.1): zeros, the last byte counting them, the P bit set.
        let padding = (4 - (out.count - start) % 4) % 4
        if padding > 0 {
            out.append(contentsOf: repeatElement(0, count: padding - 1))
            out.append(UInt8(padding))
            out[start] |= 0x20
        }
        out.endRTCPPacket(start: start)
    }

    /// Packs the symbols greedily: a run-length chunk for 14 or more equal symbols (or the
    /// rest when all equal), else a vector of 14 one-bit symbols when no large delta is among
    /// them, else 7 two-bit symbols. Symbols past the end of the last vector are "not received"
    /// padding, which the status count tells the reader to ignore.
    static func chunks(_ symbols: [Symbol]) -> [UInt16] {
        var chunks: [UInt16] = []
        var i = 0
        while i < symbols.count {
            var run = 1
            while i + run < symbols.count, symbols[i + run] == symbols[i], run < maximumRun { run += 1 }
            if run >= 14 || i + run == symbols.count && run > 7 {
                chunks.append(UInt16(symbols[i].rawValue) << 13 | UInt16(run))
                i += run
                continue
            }
            let next14 = symbols[i..<min(i + 14, symbols.count)]
            if !next14.contains(.largeDelta) {
                var chunk: UInt16 = 0x8000
                for (k, symbol) in next14.enumerated() where symbol == .smallDelta { chunk |= 1 << (13 - k) }
                chunks.append(chunk)
                i += 14
            } else {
                var chunk: UInt16 = 0xC000
                for (k, symbol) in symbols[i..<min(i + 7, symbols.count)].enumerated() {
                    chunk |= UInt16(symbol.rawValue) << (12 - 2 * k)
                }
                chunks.append(chunk)
                i += 7
            }
        }
        return chunks
    }

    init(body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        let bad = RTCPParseError.badPacket(type: RTCPPacketType.transportFeedback)
        guard body.count >= 16 else { throw bad }
        senderSSRC = body.be32(at: 0)
        mediaSSRC = body.be32(at: 4)
        baseSequence = body.be16(at: 8)
        let count = Int(body.be16(at: 10))
        let word = body.be32(at: 12)
        // Sign-extend the 24-bit reference time.
        referenceTime = Int32(bitPattern: word) >> 8
        feedbackCount = UInt8(truncatingIfNeeded: word)
        var symbols: [Symbol] = []
        symbols.reserveCapacity(count)
        var offset = 16
        while symbols.count < count {
            guard offset + 2 <= body.count else { throw bad }
            let chunk = body.be16(at: offset)
            offset += 2
            if chunk & 0x8000 == 0 {
                guard let symbol = Symbol(rawValue: UInt8(chunk >> 13 & 0x3)) else { throw bad }
                let run = Int(chunk & 0x1FFF)
                guard run > 0 else { throw bad }
                symbols.append(contentsOf: repeatElement(symbol, count: min(run, count - symbols.count)))
            } else if chunk & 0x4000 == 0 {
                for k in 0..<14 where symbols.count < count {
                    symbols.append(chunk & (1 << (13 - k)) != 0 ? .smallDelta : .notReceived)
                }
            } else {
                for k in 0..<7 where symbols.count < count {
                    guard let symbol = Symbol(rawValue: UInt8(chunk >> (12 - 2 * k) & 0x3)) else { throw bad }
                    symbols.append(symbol)
                }
            }
        }
        var previous = Int64(referenceTime) * Self.ticksPerReferenceUnit
        var arrivals: [Int64?] = []
        arrivals.reserveCapacity(count)
        for symbol in symbols {
            switch symbol {
            case .notReceived:
                arrivals.append(nil)
            case .smallDelta:
                guard offset + 1 <= body.count else { throw bad }
                previous += Int64(body[offset])
                offset += 1
                arrivals.append(previous)
            case .largeDelta:
                guard offset + 2 <= body.count else { throw bad }
                previous += Int64(Int16(bitPattern: body.be16(at: offset)))
                offset += 2
                arrivals.append(previous)
            }
        }
        self.arrivals = arrivals
    }
}
