// A bound on how long SIGTERM may take. Hummingbird's graceful shutdown waits for every open
// HTTP connection, and one that was accepted but never sent a request (browsers open such
// connections ahead of time) is still in the upgrade negotiation, where nothing closes it: the
// process would wait for the client forever. Every acknowledged write is already committed
// (SQLite and PostgreSQL commit per request), so when the deadline passes the process ends.
//
// Listed last among the services, it is the first told to shut down; it arms the deadline and
// returns, so the others then stop in their order as usual.

import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

struct ShutdownDeadline: Service {
    let limit: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        let limit = limit, logger = logger
        Task.detached {
            try? await Task.sleep(for: limit)
            logger.warning("shutdown still waiting after \(limit) (an HTTP connection that never sent a request?): exiting now")
            exit(0)
        }
    }
}
