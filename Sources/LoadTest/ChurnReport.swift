// What a `--churn` run did: operations by kind, the ones that failed and why, peers that
// connected or failed, and the server's RSS at the start and end (the soak script samples the
// rest from /proc and /metrics itself).

import Foundation

public struct ChurnResult: Equatable, Sendable, Codable {
    public var server: String
    public var seconds: Double
    public var operationsPerSecond: Double
    public var joins = 0
    public var leaves = 0
    public var mutes = 0
    public var unmutes = 0
    /// Operations the server refused or that could not be carried out, with the first reasons.
    public var failedOperations = 0
    public var failures: [String] = []
    /// Peers that completed ICE and DTLS, and peers that failed (cumulative over the run).
    public var peersConnected = 0
    public var peersFailed = 0
    public var serverRSSStartMegabytes: Double?
    public var serverRSSEndMegabytes: Double?

    public var operations: Int { joins + leaves + mutes + unmutes }

    public func json() throws(LoadTestError) -> String {
        try LoadTestResult.prettyJSON(self)
    }

    public func table() -> String {
        let rss = { (value: Double?) in value.map { LoadTestResult.format($0, 1) } ?? "-" }
        return """
            churn for \(LoadTestResult.format(seconds, 0)) s at \(LoadTestResult.format(operationsPerSecond, 1)) operations/s against \(server)
            operations: \(operations) (\(joins) joins, \(leaves) leaves, \(mutes) mutes, \(unmutes) unmutes), \(failedOperations) failed
            peers: \(peersConnected) connected, \(peersFailed) failed
            server RSS: \(rss(serverRSSStartMegabytes)) MB at the start, \(rss(serverRSSEndMegabytes)) MB at the end
            """
    }
}
