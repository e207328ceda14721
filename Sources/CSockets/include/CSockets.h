// Batched UDP I/O (recvmmsg/sendmmsg) for Swift: glibc declares them only under _GNU_SOURCE,
// which Swift's Glibc module does not define, so they are re-declared here with the same layout.
#ifndef CHORUS_CSOCKETS_H
#define CHORUS_CSOCKETS_H

#include <sys/socket.h>

/// Same layout as glibc's `struct mmsghdr`.
struct chorus_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

int chorus_recvmmsg(int fd, struct chorus_mmsghdr *messages, unsigned int count, int flags);
int chorus_sendmmsg(int fd, struct chorus_mmsghdr *messages, unsigned int count, int flags);

/// A non-blocking eventfd: how other threads wake a worker blocked in its event poll.
int chorus_wake_fd(void);

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (another _GNU_SOURCE call): a worker's ICE-TCP
/// connections never block it. Returns the fd or -1 with errno.
int chorus_accept_nonblocking(int listener, struct sockaddr *address, socklen_t *length);

/// epoll(7) for a worker's event loop. `struct epoll_event` is packed on x86-64, which Swift
/// cannot lay out; these take and give its two fields as plain values. Each registered fd
/// carries a 64-bit token the worker chooses.
int chorus_epoll_create(void);
/// `op` is 1 add, 2 delete, 3 modify (EPOLL_CTL_*); `events` EPOLLIN/EPOLLOUT bits.
int chorus_epoll_control(int epoll, int op, int fd, unsigned int events, unsigned long long token);
/// Waits up to `timeout_ms` for at most `max` ready fds; fills `tokens` and `events`.
int chorus_epoll_wait(int epoll, unsigned long long *tokens, unsigned int *events, int max, int timeout_ms);

/// Steering for a SO_REUSEPORT group of UDP sockets (all workers on one port): an eBPF program
/// (BPF_PROG_TYPE_SK_REUSEPORT) looks the datagram's source address and port up in a hash map
/// and delivers it to the socket that map names; a source not in the map goes where the
/// kernel's own 4-tuple hash sends it. File descriptors of the program and its two maps.
typedef struct {
    int program;
    int sockets;
    int peers;
} chorus_reuseport_steering;

/// Creates the maps and the program and attaches it to the group of `socket_fds` (bound to
/// the same address and port with SO_REUSEPORT; index i in the map is `socket_fds[i]`).
/// `max_peers` bounds the source addresses steered at once. Returns 0, or -errno: EPERM
/// without CAP_BPF/CAP_NET_ADMIN. `log`, when not NULL, receives the verifier's complaint.
int chorus_reuseport_steering_create(chorus_reuseport_steering *steering, const int *socket_fds, int count,
                                     int max_peers, char *log, unsigned int log_size);
/// Sends datagrams from `peer` (an IPv4 or IPv6 socket address) to socket `index` from now on.
/// Returns 0 or -errno (E2BIG when `max_peers` addresses are already steered).
int chorus_reuseport_steer(const chorus_reuseport_steering *steering, const struct sockaddr *peer,
                           unsigned int index);
/// Forgets `peer`: its datagrams go by the kernel's hash again. Returns 0 or -errno (-ENOENT).
int chorus_reuseport_unsteer(const chorus_reuseport_steering *steering, const struct sockaddr *peer);
/// Closes the program and maps (the group keeps working by hash while a socket stays open).
void chorus_reuseport_steering_close(chorus_reuseport_steering *steering);

#endif
