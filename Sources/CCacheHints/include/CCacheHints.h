// Cache hints for the packet path. A fan-out walks one cold subscriber after another (consumer,
// transport, SRTP state: each a pointer away from the last), and Swift has no way to say
// "start loading this now"; these let the walk overlap those misses instead of taking them in turn.
#ifndef CHORUS_CCACHEHINTS_H
#define CHORUS_CCACHEHINTS_H

/// Starts loading the cache line holding `address`. A hint only: it never faults, so a stale or
/// null address costs nothing but the wasted load.
static inline void chorus_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// The same for the `count` lines from `address` (an object larger than one line).
static inline void chorus_prefetch_lines(const void *address, int count) {
    const char *line = (const char *)address;
    for (int i = 0; i < count; i++) __builtin_prefetch(line + 64 * i, 0, 3);
}

#endif
