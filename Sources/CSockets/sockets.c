// See CSockets.h: thin wrappers so Swift can call the _GNU_SOURCE batch calls.
#define _GNU_SOURCE
#include <sys/socket.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include "CSockets.h"

_Static_assert(sizeof(struct chorus_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(struct chorus_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");

int chorus_recvmmsg(int fd, struct chorus_mmsghdr *messages, unsigned int count, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)messages, count, flags, NULL);
}

int chorus_sendmmsg(int fd, struct chorus_mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}

int chorus_wake_fd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
