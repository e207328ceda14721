// One accepted ICE-TCP connection (RFC 6544, passive side): its socket, the peer's address
// (marked `.tcp`, which is how the core names it), its deframer, its bounded output, and the
// times its limits are counted from. Owned by one worker's ICETCPConnections at a time.

import Glibc
import ICE

final class ICETCPConnection {
    let fd: Int32
    let peer: TransportAddress
    let reader = TCPFrameReader()
    let output: TCPSendBuffer
    /// Its registration in the owning worker's EventPoll (a new one after a hand-off).
    var token: UInt64 = 0
    let acceptedAt: ContinuousClock.Instant
    var lastInput: ContinuousClock.Instant
    /// ICE validated this address for a transport of the owning worker.
    var validated = false
    /// The transport it carried went: close once what is queued (close_notify) is written.
    var closing = false
    /// Registered for room to write (output is waiting).
    var watchesWritable = false
    /// Output was queued during the current flush.
    var isDirty = false
    /// Set by the core's STUN hand-off hook while a frame is being handled: the connection
    /// belongs to another worker; its reader stops and the connection moves there.
    var handOff: ((ICETCPConnection) -> Bool)?

    init(fd: Int32, peer: TransportAddress, now: ContinuousClock.Instant, sendBufferBytes: Int) {
        self.fd = fd
        self.peer = peer
        acceptedAt = now
        lastInput = now
        output = TCPSendBuffer(capacity: sendBufferBytes)
    }

    enum ReadResult {
        case bytes(Int)
        case wouldBlock
        /// The peer closed (0 bytes) or the socket failed.
        case closed(ICETCPStats.CloseReason)
    }

    /// One non-blocking read into the deframer's free space.
    func read() -> ReadResult {
        let space = reader.writableSpace()
        while true {
            let n = Glibc.read(fd, space.baseAddress, space.count)
            if n > 0 {
                reader.didWrite(n)
                return .bytes(n)
            }
            if n == 0 { return .closed(.peer) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case ECONNRESET: return .closed(.peer)
            default: return .closed(.error)
            }
        }
    }

    enum WriteResult {
        case done
        /// The socket's buffer is full; the rest waits for room.
        case partial
        case failed
    }

    /// Writes what is queued without blocking (one sendmsg of up to two regions per round).
    /// MSG_NOSIGNAL: a peer that reset the connection is an error here, not a SIGPIPE.
    func writePending() -> WriteResult {
        while !output.isEmpty {
            let (first, second) = output.pending()
            var vectors = (
                iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
                iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count))
            let sent = withUnsafeMutableBytes(of: &vectors) { raw -> Int in
                var message = msghdr()
                message.msg_iov = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
                message.msg_iovlen = second.count > 0 ? 2 : 1
                return sendmsg(fd, &message, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if sent > 0 {
                output.consume(sent)
                continue
            }
            if sent < 0 && errno == EINTR { continue }
            if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .partial }
            return .failed
        }
        return .done
    }
}
