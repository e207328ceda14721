// The results of a load test: one record per step (a fixed run has one), the run around them,
// their JSON form (`--output`) and the table printed at the end.

import SFU
import Foundation

public struct LatencySummary: Equatable, Sendable, Codable {
    public var samples: UInt64
    public var p50Ms: Double
    public var p90Ms: Double
    public var p99Ms: Double
    public var p999Ms: Double
    public var maxMs: Double
    public var meanMs: Double

    public init(_ histogram: LatencyHistogram) {
        let ms = { (ns: UInt64) in Double(ns) / 1e6 }
        samples = histogram.count
        p50Ms = ms(histogram.value(atPercentile: 50))
        p90Ms = ms(histogram.value(atPercentile: 90))
        p99Ms = ms(histogram.value(atPercentile: 99))
        p999Ms = ms(histogram.value(atPercentile: 99.9))
        maxMs = ms(histogram.count > 0 ? histogram.max : 0)
        meanMs = histogram.mean / 1e6
    }
}

public struct StepResult: Equatable, Sendable, Codable {
    public var step: Int
    public var rooms: Int
    public var publishers: Int
    /// WHEP sessions (each forwards one publisher's audio and video).
    public var subscriptions: Int
    public var transports: Int
    public var connected: Int
    public var failed: Int
    /// The measured window (after the warm-up).
    public var seconds: Double

    /// What the SFU should forward: subscriptions × one publisher's packet rate.
    public var offeredPacketsPerSecond: Double
    public var sentPacketsPerSecond: Double
    /// Received at subscribers, duplicates excluded.
    public var forwardedPacketsPerSecond: Double
    public var forwardedMegabitsPerSecond: Double

    public var audioPacketsSent: Int
    public var videoPacketsSent: Int
    public var audioPacketsReceived: Int
    public var videoPacketsReceived: Int
    public var bytesReceived: Int
    public var expected: Int64
    public var lost: Int64
    public var lossPercent: Double
    public var duplicates: Int
    public var late: Int
    public var unknownSSRC: Int
    public var latency: LatencySummary
    /// How late publishers' packets left against their schedules (nil in results written
    /// before it was measured).
    public var sendLag: LatencySummary?

    /// Percent of one core over the window; nil when the server's process is unknown.
    public var serverCPUPercent: Double?
    public var serverRSSMegabytes: Double?
    /// This generator's own CPU: near 100 % per thread means it, not the server, is the limit.
    public var generatorCPUPercent: Double?
    /// Server CPU time per packet a subscriber received: Chorus's whole cost of one forwarded
    /// packet (receive, route, protect, send, RTCP, timers), comparable with the floor.
    public var serverNanosecondsPerForwardedPacket: Double?
    /// Forwarded (outgoing) packets per second of server CPU time.
    public var forwardedPacketsPerServerCPUSecond: Double?

    public var keyframeRequests: Int
    public var keyframesForced: Int
    public var lagResets: Int
    public var sendFailures: Int

    public init(
        step: Int, scenario: Scenario, connected: Int, failed: Int, seconds: Double, offeredPacketsPerSecond: Double,
        counters c: TrafficCounters, serverCPUPercent: Double?, serverRSSMegabytes: Double?, generatorCPUPercent: Double?
    ) {
        self.step = step
        rooms = scenario.rooms
        publishers = scenario.publishers
        subscriptions = scenario.subscriptions
        transports = scenario.transports
        self.connected = connected
        self.failed = failed
        self.seconds = seconds
        self.offeredPacketsPerSecond = offeredPacketsPerSecond
        let perSecond = { (n: Int) in seconds > 0 ? Double(n) / seconds : 0 }
        sentPacketsPerSecond = perSecond(c.packetsSent)
        forwardedPacketsPerSecond = perSecond(c.packetsReceived)
        forwardedMegabitsPerSecond = perSecond(c.bytesReceived) * 8 / 1e6
        audioPacketsSent = c.audioPacketsSent
        videoPacketsSent = c.videoPacketsSent
        audioPacketsReceived = c.audioPacketsReceived
        videoPacketsReceived = c.videoPacketsReceived
        bytesReceived = c.bytesReceived
        expected = c.expected
        lost = c.lost
        lossPercent = c.lossPercent
        duplicates = c.duplicates
        late = c.late
        unknownSSRC = c.unknownSSRC
        latency = LatencySummary(c.latency)
        sendLag = LatencySummary(c.sendLag)
        self.serverCPUPercent = serverCPUPercent
        self.serverRSSMegabytes = serverRSSMegabytes
        self.generatorCPUPercent = generatorCPUPercent
        if let cpu = serverCPUPercent, cpu > 0, forwardedPacketsPerSecond > 0 {
            serverNanosecondsPerForwardedPacket = cpu / 100 * 1e9 / forwardedPacketsPerSecond
            forwardedPacketsPerServerCPUSecond = forwardedPacketsPerSecond / (cpu / 100)
        }
        keyframeRequests = c.keyframeRequests
        keyframesForced = c.keyframesForced
        lagResets = c.lagResets
        sendFailures = c.sendFailures
    }
}

public struct ClipSummary: Equatable, Sendable, Codable {
    public var width: Int
    public var height: Int
    public var framesPerSecond: Int
    public var seconds: Double
    public var videoKilobitsPerSecond: Double
    public var videoPacketsPerSecond: Double
    public var keyframeBytes: Int
    public var audioKilobitsPerSecond: Double
    public var audioPacketsPerSecond: Double
    public var encodeSeconds: Double
    /// `--simulcast`: each layer as encoded, lowest first (nil without simulcast).
    public var simulcastLayers: [Layer]?

    public struct Layer: Equatable, Sendable, Codable {
        public var rid: String
        public var width: Int
        public var height: Int
        public var videoKilobitsPerSecond: Double
        public var videoPacketsPerSecond: Double
    }

    public init(_ clip: MediaClip) {
        width = clip.settings.width
        height = clip.settings.height
        framesPerSecond = clip.settings.framesPerSecond
        seconds = clip.clipSeconds
        videoKilobitsPerSecond = clip.videoBitsPerSecond / 1000
        videoPacketsPerSecond = clip.videoPacketsPerSecond
        keyframeBytes = clip.keyframeBytes
        audioKilobitsPerSecond = clip.audioBitsPerSecond / 1000
        audioPacketsPerSecond = clip.audioPacketsPerSecond
        encodeSeconds = clip.encodeSeconds
        if !clip.layers.isEmpty {
            simulcastLayers = clip.layers.enumerated().map { i, layer in
                Layer(
                    rid: layer.rid, width: layer.width, height: layer.height,
                    videoKilobitsPerSecond: clip.videoBitsPerSecond(layer: i) / 1000,
                    videoPacketsPerSecond: clip.videoPacketsPerSecond(layer: i))
            }
        }
    }
}

public struct LoadTestResult: Equatable, Sendable, Codable {
    public var tool = "chorus loadtest"
    public var formatVersion = 1
    public var server: String
    public var serverPID: Int32?
    /// "fixed" (one step) or "ramp" (`--rate`).
    public var mode: String
    public var rampGrowth: RampGrowth?
    public var scenario: Scenario
    public var threads: Int
    public var clip: ClipSummary
    public var lossThresholdPercent: Double
    public var cpuThresholdPercent: Double
    public var steps: [StepResult]
    /// Why the run ended: "duration", or for a ramp the limit reached.
    public var stopReason: String
    public var failures: [String]
    /// The forwarding floor measured in the same run (fan-out 10, AES-GCM, sendmmsg on loopback).
    public var floor: ForwardingFloorResult?
    /// The same floor with one datagram per sendmmsg message (no GSO runs).
    public var floorWithoutGSO: ForwardingFloorResult?

    public init(
        server: String, serverPID: Int32?, mode: String, rampGrowth: RampGrowth?, scenario: Scenario, threads: Int,
        clip: ClipSummary, lossThresholdPercent: Double, cpuThresholdPercent: Double, steps: [StepResult],
        stopReason: String, failures: [String]
    ) {
        self.server = server
        self.serverPID = serverPID
        self.mode = mode
        self.rampGrowth = rampGrowth
        self.scenario = scenario
        self.threads = threads
        self.clip = clip
        self.lossThresholdPercent = lossThresholdPercent
        self.cpuThresholdPercent = cpuThresholdPercent
        self.steps = steps
        self.stopReason = stopReason
        self.failures = failures
    }

    /// The step with the most forwarded packets per second without passing the thresholds.
    public var bestStep: StepResult? {
        steps.filter { $0.lossPercent <= lossThresholdPercent && ($0.serverCPUPercent ?? 0) < cpuThresholdPercent }
            .max { $0.forwardedPacketsPerSecond < $1.forwardedPacketsPerSecond }
    }

    public func json() throws(LoadTestError) -> String {
        try Self.prettyJSON(self)
    }

    /// A result as `--output` writes it: indented, keys sorted (this one and ChurnResult).
    static func prettyJSON(_ value: some Encodable) throws(LoadTestError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw .setup("cannot encode the result: \(error)")
        }
    }

    /// The end-of-run table: one line per step.
    public func table() -> String {
        let header = ["step", "peers", "offered pps", "fwd pps", "Mbit/s", "loss %", "dup", "p50 ms", "p99 ms", "p99.9 ms",
                      "send lag p99 ms", "srv CPU %", "srv RSS MB", "gen CPU %", "srv ns/fwd", "x floor"]
        var rows = [header]
        for s in steps {
            rows.append([
                "\(s.step)", "\(s.connected)/\(s.transports)", Self.format(s.offeredPacketsPerSecond, 0),
                Self.format(s.forwardedPacketsPerSecond, 0), Self.format(s.forwardedMegabitsPerSecond, 1),
                Self.format(s.lossPercent, 3), "\(s.duplicates)", Self.format(s.latency.p50Ms, 3), Self.format(s.latency.p99Ms, 3),
                Self.format(s.latency.p999Ms, 3), s.sendLag.map { Self.format($0.p99Ms, 3) } ?? "-", s.serverCPUPercent.map { Self.format($0, 1) } ?? "-",
                s.serverRSSMegabytes.map { Self.format($0, 1) } ?? "-", s.generatorCPUPercent.map { Self.format($0, 1) } ?? "-",
                s.serverNanosecondsPerForwardedPacket.map { Self.format($0, 0) } ?? "-",
                ratioToFloor(s).map { Self.format($0, 2) } ?? "-",
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let lines = rows.map { row in
            row.enumerated().map { i, cell in String(repeating: " ", count: widths[i] - cell.count) + cell }.joined(separator: "  ")
        }
        let rule = String(repeating: "-", count: lines[0].count)
        var text = ([lines[0], rule] + lines.dropFirst()).joined(separator: "\n")
        if let floor {
            text += "\nfloor (same run): \(Self.format(floor.nanosecondsPerOutgoingPacket, 0)) ns per forwarded packet, "
                + "\(Self.format(floor.outgoingPacketsPerCPUSecond / 1000, 1))k packets per CPU-second "
                + "(fan-out \(floor.fanout), \(floor.profile), \(floor.payloadBytes) B payload, sendmmsg with GSO runs)"
        }
        if let plain = floorWithoutGSO {
            text += "\nfloor without GSO: \(Self.format(plain.nanosecondsPerOutgoingPacket, 0)) ns per forwarded packet, "
                + "\(Self.format(plain.outgoingPacketsPerCPUSecond / 1000, 1))k packets per CPU-second"
            if let cost = steps.compactMap(\.serverNanosecondsPerForwardedPacket).last, plain.nanosecondsPerOutgoingPacket > 0 {
                text += " (last step: \(Self.format(cost / plain.nanosecondsPerOutgoingPacket, 2))x)"
            }
        }
        return text
    }

    /// Chorus's server CPU per forwarded packet over the floor's.
    public func ratioToFloor(_ step: StepResult) -> Double? {
        guard let floor, let cost = step.serverNanosecondsPerForwardedPacket, floor.nanosecondsPerOutgoingPacket > 0 else { return nil }
        return cost / floor.nanosecondsPerOutgoingPacket
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
