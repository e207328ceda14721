// All transports of a worker on one UDP port: demultiplexes datagrams by their first byte
// (RFC 7983 §7), STUN by the local ICE ufrag in USERNAME, everything else by source address.

import ICE
import RTP

final class WebRTCServer {
    private var transportsByUfrag: [String: WebRTCTransport] = [:]
    private var transportsByAddress: [TransportAddress: WebRTCTransport] = [:]
    private var addressesByTransport: [ObjectIdentifier: [TransportAddress]] = [:]
    let stats: WorkerStats
    /// See MediaCore.handOffSTUN.
    var handOffSTUN: ((Substring, UnsafeRawBufferPointer, TransportAddress) -> Bool)?

    init(stats: WorkerStats) {
        self.stats = stats
    }

    var transportCount: Int { transportsByUfrag.count }

    func register(_ transport: WebRTCTransport) {
        transportsByUfrag[transport.localICE.ufrag] = transport
    }

    /// Forgets `transport`; returns the addresses that led to it and now lead nowhere.
    @discardableResult
    func unregister(_ transport: WebRTCTransport) -> [TransportAddress] {
        transportsByUfrag[transport.localICE.ufrag] = nil
        var released: [TransportAddress] = []
        for address in addressesByTransport.removeValue(forKey: ObjectIdentifier(transport)) ?? [] {
            if transportsByAddress[address] === transport {
                transportsByAddress[address] = nil
                released.append(address)
            }
        }
        return released
    }

    /// ICE validated `address` for `transport`; DTLS and SRTP from it now reach that transport.
    func bind(_ address: TransportAddress, to transport: WebRTCTransport) {
        if transportsByAddress[address] === transport { return }
        if let previous = transportsByAddress[address] {
            addressesByTransport[ObjectIdentifier(previous)]?.removeAll { $0 == address }
        }
        transportsByAddress[address] = transport
        addressesByTransport[ObjectIdentifier(transport), default: []].append(address)
    }

    @inline(__always)
    func handle(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: ContinuousClock.Instant, queue: SendQueue) {
        stats.packetsIn &+= 1
        stats.bytesIn &+= datagram.count
        guard let first = datagram.first else {
            stats.drop(.malformed)
            return
        }
        switch first {
        case 0...3:
            handleSTUN(UnsafeRawBufferPointer(datagram), from: source, now: now, queue: queue)
        case 20...63:
            guard let transport = transportsByAddress[source] else {
                stats.drop(.unknownSource)
                return
            }
            transport.handleDTLS(UnsafeRawBufferPointer(datagram), from: source, now: now, queue: queue)
        case 128...191:
            guard let transport = transportsByAddress[source] else {
                stats.drop(.unknownSource)
                return
            }
            transport.handleSRTP(datagram, now: now, queue: queue, stats: stats)
        default:
            // 4-19 (ZRTP), 64-79 (TURN channels) and the rest: nothing Chorus speaks.
            stats.drop(.malformed)
        }
    }

    private func handleSTUN(_ datagram: UnsafeRawBufferPointer, from source: TransportAddress, now: ContinuousClock.Instant, queue: SendQueue) {
        guard STUNMessage.looksLikeSTUN(datagram) else {
            stats.drop(.malformed)
            return
        }
        guard let username = STUNMessage.peekUsername(datagram) else {
            answerPlainBinding(datagram, from: source, queue: queue)
            return
        }
        let localUfrag = username.split(separator: ":", maxSplits: 1).first ?? ""
        guard let transport = transportsByUfrag[String(localUfrag)] else {
            if handOffSTUN?(localUfrag, datagram, source) == true {
                stats.stunHandedOff &+= 1
            } else {
                stats.drop(.unknownTransport)
            }
            return
        }
        transport.handleSTUN(datagram, from: source, now: now, queue: queue, stats: stats)
    }

    /// A Binding request without USERNAME is a plain STUN query (RFC 8489 §3): answer with the
    /// reflexive address, so that the media port also serves P2P callers as a STUN server.
    private func answerPlainBinding(_ datagram: UnsafeRawBufferPointer, from source: TransportAddress, queue: SendQueue) {
        guard let request = try? STUNMessage(parsing: datagram), request.messageClass == .request,
            request.method == .binding
        else {
            stats.drop(.stunRejected)
            return
        }
        let response = STUNMessage(
            messageClass: .successResponse, method: .binding, transactionID: request.transactionID,
            attributes: [.xorMappedAddress(source)])
        queue.enqueue(response.encode(integrityKey: nil, fingerprint: true), to: source)
    }
}
