// `chorus loadtest`: plays WebRTC publishers and subscribers against a Chorus server (or, with
// `--sfu janus`, a Janus VideoRoom) on this machine and reports forwarded packets, loss, added
// latency and the server's CPU.

import ArgumentParser
import Foundation
import LoadTest

extension ScenarioPreset: ExpressibleByArgument {}
extension RampGrowth: ExpressibleByArgument {}
extension SFUKind: ExpressibleByArgument {}

struct LoadTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load a Chorus server on 127.0.0.1 with real WebRTC peers (Opus + VP8 over ICE, DTLS, SRTP).",
        discussion: """
            Publishers replay a clip encoded at start with libopus and libvpx (50 packets/s of audio, \
            ~1.5 Mbit/s of video) over WHIP; subscribers take every publisher of their room over WHEP \
            and measure loss, duplicates and added latency. Scenarios: custom (--rooms/--publishers/\
            --subscribers), meeting (10 participants who all publish and see each other), livestream \
            (1 publisher, 20 subscribers), small-rooms (20 rooms of 3). --rate grows the load step by step \
            until loss passes --max-loss or the server's CPU reaches --max-server-cpu.
            --sfu janus plays the same peers against Janus's VideoRoom plugin through its HTTP API \
            (--server http://127.0.0.1:8088; no token secret needed).
            --churn holds the scenario's rooms for --duration seconds (up to 3600) while publishers \
            join, leave and mute themselves, --churn-rate operations per second: a soak of the \
            server's create and free paths (Benchmarks/soak.sh). It exits 1 if an operation failed.
            --simulcast makes every publisher send RID simulcast as Chromium does (q, h, f: the clip at \
            a quarter, half and full width) and every subscription ask for a layer, 0, 1, 2 in turn \
            (POST /api/rooms/{room}/subscriptions/{id}/layers): a third of them receive each layer.
            --transport-cc makes subscribers negotiate transport-cc and send its feedback, so that \
            the server estimates each one's downlink (without it the estimator gets no input).
            Only 127.0.0.1 is accepted; at most 2000 peer connections and 600 s.
            """)

    @Option(help: "The server's HTTP API (127.0.0.1 only).")
    var server = "http://127.0.0.1:8080"
    @Option(help: "The SFU behind --server: chorus (WHIP/WHEP) or janus (VideoRoom over Janus's HTTP API).")
    var sfu: SFUKind = .chorus
    @Option(help: "The server's HS256 token secret (env CHORUS_JWT_SECRET).")
    var jwtSecret: String?
    @Option(help: "custom, meeting, livestream or small-rooms.")
    var scenario: ScenarioPreset = .custom
    @Option(help: "Rooms (custom default 1).")
    var rooms: Int?
    @Option(help: "Publishers per room; for meeting and small-rooms, participants per room (custom default 1).")
    var publishers: Int?
    @Option(help: "Subscribers per room, each subscribing to every publisher of the room (custom default 2).")
    var subscribers: Int?
    @Option(help: "Seconds to measure (default 10; with --rate, per step, default 5).")
    var duration: Int?
    @Flag(help: "Ramp: add load step by step until loss or server CPU passes its threshold.")
    var rate = false
    @Option(help: "What each --rate step adds: rooms or subscribers (default: subscribers for one room with subscribers, else rooms).")
    var rampBy: RampGrowth?
    @Option(help: "Most --rate steps.")
    var maxSteps = 20
    @Option(help: "--rate stops when loss at subscribers passes this percentage.")
    var maxLoss = 1.0
    @Option(help: "--rate stops when the server uses this percentage of one core.")
    var maxServerCpu = 95.0
    @Option(help: "The server's process id for CPU and RSS (default: the process listening on the server's port).")
    var serverPid: Int32?
    @Option(help: "Generator threads (default: cores - 1, 1 to 4).")
    var threads: Int?
    @Option(help: "Video clip size, WIDTHxHEIGHT.")
    var videoSize = "640x360"
    @Option(help: "Video clip bitrate in kbit/s.")
    var videoKbps = 1500
    @Flag(help: "Publishers send three simulcast layers (1/4, 1/2 and full --video-size); subscriptions ask for layers 0, 1, 2 in turn.")
    var simulcast = false
    @Flag(help: "Subscribers negotiate transport-cc and send its feedback every 100 ms, so that the server's bandwidth estimate runs.")
    var transportCc = false
    @Option(help: "Write the result as JSON to this file.")
    var output: String?
    @Option(help: "Write an SVG plot (forwarded pps and p99 latency against offered load) to this file.")
    var plot: String?
    @Flag(help: "No progress lines, only the table.")
    var quiet = false
    @Option(help: "Incoming packets of the forwarding-floor measurement before the load (0: skip).")
    var floorPackets = 50_000
    @Flag(help: "Churn: publishers join, leave and mute for --duration seconds instead of holding a fixed load.")
    var churn = false
    @Option(help: "With --churn: operations (join, leave, mute or unmute) per second.")
    var churnRate = 2.0

    func validate() throws {
        do {
            try makeOptions().validate()
        } catch let error as LoadTestError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let options = try makeOptions()
        let quiet = self.quiet
        let runner = LoadRunner(options: options) { line in
            guard !quiet else { return }
            print(line)
            // NULL flushes every output stream (C11 7.21.5.2): stdout itself is a C global that
            // Swift 6 will not touch from this closure.
            fflush(nil)
        }
        if options.churn != nil {
            try runChurn(runner)
            return
        }
        let result = try reporting { () throws(LoadTestError) in try runner.run() }
        print("")
        print(result.table())
        print("stopped: \(result.stopReason)")
        if !result.failures.isEmpty {
            print("peer failures: \(result.failures.prefix(5).joined(separator: "; "))")
        }
        if let output {
            try result.json().write(toFile: output, atomically: true, encoding: .utf8)
            print("result: \(output)")
        }
        if let plot {
            try SVGPlot(result: result).render().write(toFile: plot, atomically: true, encoding: .utf8)
            print("plot: \(plot)")
        }
    }

    /// A run's result, or its error on stderr and exit status 1.
    private func reporting<T>(_ body: () throws(LoadTestError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    private func runChurn(_ runner: LoadRunner) throws {
        let result = try reporting { () throws(LoadTestError) in try runner.runChurn() }
        print("")
        print(result.table())
        if !result.failures.isEmpty {
            print("failures: \(result.failures.prefix(5).joined(separator: "; "))")
        }
        if let output {
            try result.json().write(toFile: output, atomically: true, encoding: .utf8)
            print("result: \(output)")
        }
        if result.failedOperations > 0 { throw ExitCode.failure }
    }

    private func makeOptions() throws -> LoadTestOptions {
        let server = try LoopbackServer(url: self.server)
        let secret = jwtSecret ?? ProcessInfo.processInfo.environment["CHORUS_JWT_SECRET"] ?? ""
        let scenario = Scenario.preset(self.scenario, rooms: rooms, publishers: publishers, subscribers: subscribers)
        let size = videoSize.lowercased().split(separator: "x").compactMap { Int($0) }
        guard size.count == 2 else { throw LoadTestError.badArgument("--video-size must be WIDTHxHEIGHT, e.g. 640x360") }
        var clip = ClipSettings()
        clip.width = size[0]
        clip.height = size[1]
        clip.videoKilobitsPerSecond = videoKbps
        clip.simulcast = simulcast
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var options = LoadTestOptions(
            server: server, jwtSecret: secret, scenario: scenario, duration: duration ?? (rate ? 5 : churn ? 60 : 10),
            ramp: rate ? (rampBy ?? RampGrowth.natural(for: scenario)) : nil, maxSteps: maxSteps,
            lossThresholdPercent: maxLoss, cpuThresholdPercent: maxServerCpu, threads: threads ?? max(1, min(4, cores - 1)),
            serverPID: serverPid, clip: clip)
        guard floorPackets >= 0 else { throw LoadTestError.badArgument("--floor-packets must be 0 or more") }
        options.floorPackets = floorPackets
        options.sfu = sfu
        options.transportCC = transportCc
        if churn { options.churn = ChurnSettings(operationsPerSecond: churnRate) }
        return options
    }
}
