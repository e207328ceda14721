// `chorus loadtest --churn`: brings the scenario's rooms up, then for `duration` seconds has
// publishers join, leave and mute (ChurnPlan decides which, at `--churn-rate` operations per
// second) while the media flows, and tears everything down at the end. A soak runs this for
// half an hour and watches the server's RSS, descriptors, transports and rooms (Benchmarks/soak.sh).

import Glibc

extension LoadRunner {
    /// One churning publisher: what its peers are called on the generator threads, and the
    /// mute state it asked for.
    struct ChurnMember {
        let record: PublisherRecord
        /// Its own session and the listeners' subscriptions to it.
        var labels: Set<String>
        var audioMuted = false
        var videoMuted = false
    }

    public func runChurn() throws(LoadTestError) -> ChurnResult {
        guard let settings = options.churn else { throw .badArgument("not a --churn run") }
        guard let chorus = signaling as? ChorusSignaling else { throw .badArgument("--churn needs --sfu chorus") }
        let scenario = options.scenario
        _ = try prepare(peak: scenario.transports)
        defer { tearDown() }

        try grow(to: scenario)
        try waitForConnections(step: 1)
        var members: [[ChurnMember]] = rooms.indices.map { r in
            rooms[r].publishers.map { ChurnMember(record: $0, labels: labels(of: $0, room: r)) }
        }
        var joined = 0
        var result = ChurnResult(server: options.server.url, seconds: 0, operationsPerSecond: settings.operationsPerSecond)
        result.serverRSSStartMegabytes = serverRSSMegabytes()
        let plan = ChurnPlan(publishersPerRoom: scenario.publishersPerRoom)
        var random = SystemRandomNumberGenerator()
        let start = MonotonicTime.now()
        let end = start + UInt64(options.duration) * 1_000_000_000
        let interval = UInt64(1e9 / settings.operationsPerSecond)
        var due = start
        var nextReport = start + 10_000_000_000
        while due < end {
            sleep(until: due)
            due += interval
            let operation = plan.next(
                publishers: members.map { $0.map { (audioMuted: $0.audioMuted, videoMuted: $0.videoMuted) } }, using: &random)
            do {
                switch operation {
                case .join(let r):
                    let identity = "lt-\(runID)-r\(r)-j\(joined)"
                    joined += 1
                    let record = try addPublisher(room: rooms[r].name, identity: identity)
                    // Listed before its subscriptions exist, so that a failed one is closed with it.
                    members[r].append(ChurnMember(record: record, labels: labels(of: record, room: r)))
                    for listener in 0..<rooms[r].listeners {
                        try addSubscription(room: rooms[r].name, to: record, identity: listenerIdentity(room: r, listener))
                    }
                    result.joins += 1
                case .leave(let r, let p):
                    let member = members[r].remove(at: p)
                    for thread in threads { thread.send(.close(member.labels)) }
                    try chorus.unpublish(room: rooms[r].name, publisherID: member.record.publisherID, identity: member.record.identity)
                    result.leaves += 1
                case .mute(let r, let p, let video, let muted):
                    let member = members[r][p]
                    try chorus.mute(
                        room: rooms[r].name, publisherID: member.record.publisherID, identity: member.record.identity,
                        video: video, muted: muted)
                    if video { members[r][p].videoMuted = muted } else { members[r][p].audioMuted = muted }
                    if muted { result.mutes += 1 } else { result.unmutes += 1 }
                }
            } catch {
                result.failedOperations += 1
                if result.failures.count < 20 { result.failures.append("\(operation): \(error)") }
            }
            let now = MonotonicTime.now()
            if now >= nextReport {
                nextReport += 10_000_000_000
                // Hands over the threads' counters and peer failures, which would pile up otherwise.
                _ = drainAll()
                let sessions = threads.reduce(0) { $0 + $1.status.sessions }
                let rss = serverRSSMegabytes().map { " | server RSS \(Self.f($0, 1)) MB" } ?? ""
                log("\(elapsed()) churn | \(result.operations) operations (\(result.joins) joins, \(result.leaves) leaves, \(result.mutes + result.unmutes) mutes), \(result.failedOperations) failed | \(sessions) peers\(rss)")
            }
        }
        for thread in threads { thread.send(.stopPublishing) }
        _ = drainAll()
        let (connected, failed) = tally()
        result.peersConnected = connected
        result.peersFailed = failed
        result.seconds = MonotonicTime.seconds(MonotonicTime.now() - start)
        result.serverRSSEndMegabytes = serverRSSMegabytes()
        for failure in failures where result.failures.count < 40 { result.failures.append(failure) }
        return result
    }

    /// A listener of room `room`, named as `grow` names it.
    private func listenerIdentity(room: Int, _ listener: Int) -> String {
        "lt-\(runID)-r\(room)-s\(listener)"
    }

    /// The session labels of a publisher and of its room's listeners' subscriptions to it (as
    /// `addPublisher` and `addSubscription` name them).
    private func labels(of record: PublisherRecord, room: Int) -> Set<String> {
        var labels: Set<String> = [record.identity]
        for listener in 0..<rooms[room].listeners {
            labels.insert("\(listenerIdentity(room: room, listener))<-\(record.identity)")
        }
        return labels
    }

    private func serverRSSMegabytes() -> Double? {
        serverPID.flatMap(ServerProcessStats.sample).map { Double($0.residentBytes) / 1_048_576 }
    }
}
