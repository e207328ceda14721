// See CSockets.h: thin wrappers so Swift can call the _GNU_SOURCE batch calls.
#define _GNU_SOURCE
#include <sys/socket.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
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

int chorus_accept_nonblocking(int listener, struct sockaddr *address, socklen_t *length) {
    return accept4(listener, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int chorus_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int chorus_epoll_control(int epoll, int op, int fd, unsigned int events, unsigned long long token) {
    struct epoll_event event = {.events = events, .data.u64 = token};
    return epoll_ctl(epoll, op, fd, &event);
}

int chorus_epoll_wait(int epoll, unsigned long long *tokens, unsigned int *events, int max, int timeout_ms) {
    // At most 64 per call: the worker's loop asks for no more, and the stack array stays small.
    struct epoll_event ready[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epoll, ready, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        tokens[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return n;
}
