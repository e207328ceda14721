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

/// A non-blocking eventfd: how other threads wake a worker blocked in poll().
int chorus_wake_fd(void);

#endif
