// A worker's event loop: one epoll(7) set holding its UDP socket, its wake eventfd and its
// ICE-TCP listener and connections. Each fd is registered once with a token of the worker's
// choosing; ready ones come back in preallocated arrays, so a wait allocates nothing, and its
// cost follows the ready fds, not how many TCP connections are open.

import CSockets
import Glibc

final class EventPoll {
    /// <sys/epoll.h>, which Swift's Glibc module does not export.
    static let readable: UInt32 = 0x001  // EPOLLIN
    static let writable: UInt32 = 0x004  // EPOLLOUT
    static let error: UInt32 = 0x008  // EPOLLERR
    static let hangUp: UInt32 = 0x010  // EPOLLHUP
    /// Ready fds taken per wait; more stay ready (level-triggered) for the next one.
    static let maximumEvents = 64

    let fd: Int32
    private let tokens: UnsafeMutablePointer<UInt64>
    private let events: UnsafeMutablePointer<UInt32>

    init() throws(UDPSocketError) {
        fd = chorus_epoll_create()
        guard fd >= 0 else { throw .system("epoll_create1", errno) }
        tokens = .allocate(capacity: Self.maximumEvents)
        events = .allocate(capacity: Self.maximumEvents)
    }

    deinit {
        close(fd)
        tokens.deallocate()
        events.deallocate()
    }

    /// Watches `descriptor` for input (and for room to write when `writable`); false when the
    /// kernel refused (ENOMEM, ENOSPC: more fds than max_user_watches).
    @discardableResult
    func add(_ descriptor: Int32, token: UInt64, writable: Bool = false) -> Bool {
        chorus_epoll_control(fd, 1, descriptor, Self.interest(writable), token) == 0
    }

    /// Changes whether `descriptor` is also watched for room to write.
    func modify(_ descriptor: Int32, token: UInt64, writable: Bool) {
        _ = chorus_epoll_control(fd, 3, descriptor, Self.interest(writable), token)
    }

    /// Stops watching `descriptor` (before it is closed or handed to another worker's set).
    func remove(_ descriptor: Int32) {
        _ = chorus_epoll_control(fd, 2, descriptor, 0, 0)
    }

    /// Waits up to `milliseconds` (0: does not wait) and returns how many fds are ready;
    /// `token(i)` and `events(i)` describe each. EINTR counts as none ready.
    func wait(milliseconds: Int32) -> Int {
        let n = chorus_epoll_wait(fd, tokens, events, Int32(Self.maximumEvents), milliseconds)
        return n > 0 ? Int(n) : 0
    }

    func token(_ i: Int) -> UInt64 { tokens[i] }
    func events(_ i: Int) -> UInt32 { events[i] }

    private static func interest(_ writable: Bool) -> UInt32 {
        writable ? readable | Self.writable : readable
    }
}
