// Counts what each key (a user) started in the last window and refuses more than the limit:
// a sliding window of start times rather than fixed minutes, so that a burst at the end of
// one minute and the start of the next is still one burst. Sans-IO: time is an argument.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct StartRateLimiter: Sendable {
    let limit: Int
    let window: TimeInterval
    /// Start times within the window, oldest first, per key; at most `limit` each.
    private var starts: [String: [Date]] = [:]
    /// When the table was last swept of keys whose starts have all left the window.
    private var lastSweep = Date.distantPast

    init(limit: Int, window: TimeInterval = 60) {
        self.limit = limit
        self.window = window
    }

    /// Records a start for `key` at `now`, or says how many seconds until one is allowed.
    mutating func admit(_ key: String, now: Date) -> Result<Void, LimitExceeded> {
        sweep(now: now)
        var recent = starts[key, default: []]
        recent.removeAll { now.timeIntervalSince($0) >= window }
        if recent.count >= limit, let oldest = recent.first {
            starts[key] = recent
            let wait = window - now.timeIntervalSince(oldest)
            return .failure(LimitExceeded(
                "rate_limited", "at most \(limit) calls may be started per minute; try again later",
                retryAfter: Int(wait.rounded(.up))))
        }
        recent.append(now)
        starts[key] = recent
        return .success(())
    }

    var trackedKeys: Int { starts.count }

    /// Forgets keys with nothing left in the window, once per window: memory stays bounded by
    /// the users active in the last minute, not by every user ever seen.
    private mutating func sweep(now: Date) {
        guard now.timeIntervalSince(lastSweep) >= window else { return }
        lastSweep = now
        starts = starts.filter { _, times in times.last.map { now.timeIntervalSince($0) < window } ?? false }
    }
}
