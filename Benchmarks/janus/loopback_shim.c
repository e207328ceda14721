/* Preloaded into Janus by Benchmarks/janus/run.sh: getifaddrs() with the IFF_LOOPBACK flag
 * cleared, because Janus skips loopback interfaces when it gathers host candidates and the
 * benchmark must keep all media on 127.0.0.1. Nothing else changes: the kernel still routes
 * these packets over lo, exactly as it does Chorus's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **list) {
    int (*real)(struct ifaddrs **) = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int rc = real(list);
    if (rc == 0) {
        for (struct ifaddrs *entry = *list; entry != NULL; entry = entry->ifa_next) {
            entry->ifa_flags &= ~IFF_LOOPBACK;
        }
    }
    return rc;
}
