// Trickled ICE candidates wait a little and go to the homeserver together (Matrix spec, VoIP:
// clients "should" batch candidates rather than send an event per candidate; a browser gathers
// a handful within tens of milliseconds). Sans-IO: the time is passed in; the shell sends what
// `add` or `due` return. A batch goes `delay` after its first candidate, at once with the
// end-of-candidates (an empty candidate), so each party sends at most 1/`delay` events a second.

import SocketIO

struct MatrixCandidateBatches {
    struct Key: Hashable, Sendable {
        var callId: String
        var user: String
    }

    struct Batch: Sendable, Equatable {
        var key: Key
        var candidates: [JSONValue]
    }

    let delay: Duration
    private var pending: [Key: (due: ContinuousClock.Instant, candidates: [JSONValue])] = [:]

    init(delay: Duration = .milliseconds(250)) {
        self.delay = delay
    }

    var nextDeadline: ContinuousClock.Instant? { pending.values.map(\.due).min() }

    /// Adds a candidate; returns the batch when it must go now (end-of-candidates).
    mutating func add(_ candidate: JSONValue, for key: Key, endOfCandidates: Bool, now: ContinuousClock.Instant) -> Batch? {
        var entry = pending[key] ?? (now + delay, [])
        entry.candidates.append(candidate)
        if endOfCandidates {
            pending.removeValue(forKey: key)
            return Batch(key: key, candidates: entry.candidates)
        }
        pending[key] = entry
        return nil
    }

    /// The batches whose time has come.
    mutating func due(now: ContinuousClock.Instant) -> [Batch] {
        let ready = pending.filter { $0.value.due <= now }
        for key in ready.keys { pending.removeValue(forKey: key) }
        return ready.map { Batch(key: $0.key, candidates: $0.value.candidates) }.sorted { $0.key.callId < $1.key.callId }
    }

    /// Drops what waits for a call that ended.
    mutating func discard(call callId: String) {
        pending = pending.filter { $0.key.callId != callId }
    }
}
