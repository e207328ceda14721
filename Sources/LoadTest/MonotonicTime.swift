// Nanoseconds on CLOCK_MONOTONIC, the one clock publishers stamp and subscribers read: both
// run in this process, so added latency is a subtraction with no clock to synchronise.

import Glibc

public enum MonotonicTime {
    /// Taken at first use and moved one second back, so that no reading is ever 0 (0 marks an
    /// empty slot in `SendLog`) and readings fit in 48 bits for 3 days.
    private static let epoch: UInt64 = raw() - 1_000_000_000

    static func raw() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Nanoseconds since this process's epoch.
    public static func now() -> UInt64 {
        let start = epoch  // initialised before the reading below, so the difference is positive
        return raw() - start
    }

    public static func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }

    /// CLOCK_REALTIME minus `now()`, in ns: converts the kernel's receive timestamps
    /// (SO_TIMESTAMPNS is on the realtime clock) to this clock. Read it afresh each time it is
    /// used, so that NTP steps and slewing do not accumulate.
    public static func realtimeOffset() -> Int64 {
        let monotonic = now()
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        return (Int64(realtime.tv_sec) * 1_000_000_000 + Int64(realtime.tv_nsec)) - Int64(monotonic)
    }

    /// Sleeps until `deadline` (a `now()` reading).
    public static func sleep(until deadline: UInt64) {
        let start = epoch
        var target = timespec(tv_sec: Int((deadline + start) / 1_000_000_000), tv_nsec: Int((deadline + start) % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}
