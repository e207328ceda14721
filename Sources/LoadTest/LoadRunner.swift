// Runs a load test: encodes the clip, brings up the scenario's peers through the SFU's signaling
// (WHIP/WHEP for Chorus, the VideoRoom API for Janus; HTTP on this thread, ICE/DTLS/SRTP and
// media on the generator threads), measures each step after a warm-up, prints progress once a
// second, and tears everything down again.

import Glibc
import ICE
import SFU

public struct LoadTestOptions: Sendable {
    public var server: LoopbackServer
    /// Which SFU `server` is: how peers publish and subscribe (`--sfu`).
    public var sfu: SFUKind = .chorus
    public var jwtSecret: String
    public var scenario: Scenario
    /// Seconds measured: the whole run, or each step with `ramp`.
    public var duration: Int
    /// `--rate`: grow the load step by step; nil for one fixed step.
    public var ramp: RampGrowth?
    public var maxSteps: Int
    public var lossThresholdPercent: Double
    public var cpuThresholdPercent: Double
    public var threads: Int
    public var serverPID: Int32?
    public var clip: ClipSettings
    /// After peers connect and before measuring: subscribers wait for a keyframe.
    public var warmupSeconds: Double
    /// Incoming packets of the forwarding-floor measurement run before the load (0: none).
    public var floorPackets: Int = 50_000
    /// `--churn`: publishers join, leave and mute for `duration` seconds instead of a fixed load.
    public var churn: ChurnSettings?
    /// `--transport-cc`: subscribers negotiate transport-cc and send its feedback every 100 ms,
    /// so that Chorus's per-subscriber estimate runs (it gets no input otherwise).
    public var transportCC = false

    public init(
        server: LoopbackServer, jwtSecret: String, scenario: Scenario, duration: Int, ramp: RampGrowth? = nil,
        maxSteps: Int = 20, lossThresholdPercent: Double = 1, cpuThresholdPercent: Double = 95, threads: Int = 1,
        serverPID: Int32? = nil, clip: ClipSettings = ClipSettings(), warmupSeconds: Double = 1.5
    ) {
        self.server = server
        self.jwtSecret = jwtSecret
        self.scenario = scenario
        self.duration = duration
        self.ramp = ramp
        self.maxSteps = maxSteps
        self.lossThresholdPercent = lossThresholdPercent
        self.cpuThresholdPercent = cpuThresholdPercent
        self.threads = threads
        self.serverPID = serverPID
        self.clip = clip
        self.warmupSeconds = warmupSeconds
    }

    public func validate() throws(LoadTestError) {
        guard !jwtSecret.isEmpty || sfu != .chorus else {
            throw .badArgument("--jwt-secret (or CHORUS_JWT_SECRET) is required: the test mints its own tokens")
        }
        // A soak churns for longer than a measurement runs; both stop by themselves.
        let longest = churn == nil ? LoadLimits.maxSeconds : LoadLimits.maxChurnSeconds
        guard (1...longest).contains(duration) else {
            throw .overLimit("--duration must be 1...\(longest) seconds")
        }
        if let churn {
            guard ramp == nil, sfu == .chorus else { throw .badArgument("--churn goes with --sfu chorus and without --rate") }
            // A leaving publisher's peers are its own and its listeners' subscriptions to it;
            // publishers that subscribe to each other (meeting, small-rooms) would leave theirs.
            guard !scenario.publishersSubscribe else {
                throw .badArgument("--churn plays --scenario custom or livestream (listeners subscribe to publishers)")
            }
            guard churn.operationsPerSecond > 0, churn.operationsPerSecond <= ChurnSettings.maxOperationsPerSecond else {
                throw .badArgument("--churn-rate must be above 0 and at most \(Int(ChurnSettings.maxOperationsPerSecond)) operations per second")
            }
        }
        guard (1...LoadLimits.maxSteps).contains(maxSteps) else { throw .overLimit("--max-steps must be 1...\(LoadLimits.maxSteps)") }
        guard (1...16).contains(threads) else { throw .badArgument("--threads must be 1...16") }
        guard lossThresholdPercent > 0, cpuThresholdPercent > 0 else { throw .badArgument("thresholds must be positive") }
        guard (16...3840).contains(clip.width), (16...2160).contains(clip.height), clip.width % 2 == 0, clip.height % 2 == 0 else {
            throw .badArgument("--video-size must be even, 16x16 to 3840x2160")
        }
        guard (50...20_000).contains(clip.videoKilobitsPerSecond) else { throw .badArgument("--video-kbps must be 50...20000") }
        if transportCC, sfu != .chorus { throw .badArgument("--transport-cc goes with --sfu chorus") }
        if clip.simulcast {
            guard sfu == .chorus else { throw .badArgument("--simulcast goes with --sfu chorus (the layer API is Chorus's)") }
            let lowest = SimulcastLayout.layers.map { SimulcastLayout.size(of: $0, width: clip.width, height: clip.height) }
            guard lowest.allSatisfy({ $0.width >= 16 && $0.height >= 16 }) else {
                throw .badArgument("--simulcast needs a --video-size whose quarter is at least 16x16")
            }
        }
        try scenario.validate()
    }
}

public final class LoadRunner {
    struct PublisherRecord {
        let index: Int
        let identity: String
        /// How subscriptions name this publisher to the SFU.
        let publisherID: String
        let audioLog: SendLog
        /// One per video stream: the only one, or each simulcast layer (lowest first).
        let videoLogs: [SendLog]
    }

    struct RoomState {
        let name: String
        var publishers: [PublisherRecord] = []
        var listeners = 0
    }

    public let options: LoadTestOptions
    let log: (String) -> Void
    let signaling: any SignalingAPI
    let runID = String((0..<6).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    var clip: MediaClip?
    var dtlsContext: DTLSContext?
    var threads: [GeneratorThread] = []
    private var nextThread = 0
    var rooms: [RoomState] = []
    private var publisherCount = 0
    private var sessionCount = 0
    /// Subscriptions made so far: with simulcast, which layer the next one asks for.
    private var subscriptionCount = 0
    var failures: [String] = []
    var serverPID: Int32?
    private var floor: ForwardingFloorResult?
    private var floorWithoutGSO: ForwardingFloorResult?
    private let startedAt = MonotonicTime.now()

    /// `log` receives progress lines (one per second while measuring) and notices.
    public init(options: LoadTestOptions, log: @escaping (String) -> Void) {
        self.options = options
        self.log = log
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let tokenExpiry = Int64(now.tv_sec) + Int64(LoadLimits.maxSeconds) + 3600
        switch options.sfu {
        case .chorus:
            signaling = ChorusSignaling(
                server: options.server, jwtSecret: options.jwtSecret, tokenExpiry: tokenExpiry, transportCC: options.transportCC)
        case .janus: signaling = JanusSignaling(server: options.server)
        }
    }

    public func run() throws(LoadTestError) -> LoadTestResult {
        // The floor first, on this (the generator's) core, while the server is idle: the same
        // machine and run as the load it is compared with.
        if options.floorPackets > 0 {
            log("measuring the forwarding floor (\(options.floorPackets) packets, fan-out 10, AES-GCM, sendmmsg) ...")
            do {
                floor = try ForwardingFloor.measure(fanout: 10, profile: .aeadAes128Gcm, incomingPackets: options.floorPackets)
                // The same without GSO: what each datagram costs when no run forms (paced input,
                // one packet per peer per flush), the usual case of a fan-out to distinct peers.
                floorWithoutGSO = try ForwardingFloor.measure(
                    fanout: 10, profile: .aeadAes128Gcm, incomingPackets: options.floorPackets, gso: false)
                if let floor {
                    log("floor: \(Self.f(floor.nanosecondsPerOutgoingPacket, 0)) ns per forwarded packet (\(Self.f(floor.outgoingPacketsPerCPUSecond / 1000, 1))k per CPU-second)")
                }
            } catch {
                throw .setup("floor measurement failed: \(error)")
            }
        }
        let summary = try prepare(peak: options.ramp.map { _ in LoadLimits.maxTransports } ?? options.scenario.transports)
        defer { tearDown() }

        var steps: [StepResult] = []
        var lastStep: (scenario: Scenario, counters: TrafficCounters, start: UInt64, server: ProcessSample?, generator: ProcessSample?)?
        var stopReason = "duration"
        let stepCount = options.ramp == nil ? 1 : options.maxSteps
        for step in 1...stepCount {
            let target = options.ramp?.scenario(base: options.scenario, step: step) ?? options.scenario
            do {
                try grow(to: target)
                try waitForConnections(step: step)
            } catch {
                // The first step must come up; a later one failing is where the ramp ends, and
                // what flowed while it tried belongs to no measured step.
                guard step > 1 else { throw error }
                stopReason = "step \(step) could not start: \(error)"
                lastStep = nil
                break
            }
            warmUp()
            let measured = measure(step: step, scenario: target)
            lastStep = measured
            let result = stepResult(step: step, scenario: target, counters: measured.counters, start: measured.start,
                                    end: MonotonicTime.now(), server: measured.server, generator: measured.generator)
            steps.append(result)
            guard let ramp = options.ramp else { break }
            if let reason = rampLimit(after: result, next: ramp.scenario(base: options.scenario, step: step + 1), step: step) {
                stopReason = reason
                break
            }
            if step == stepCount { stopReason = "max steps (\(stepCount))" }
        }

        // Let the last packets land, then count them in the last step.
        for thread in threads { thread.send(.stopPublishing) }
        let stoppedAt = MonotonicTime.now()
        sleep(seconds: 0.3)
        if var last = lastStep, !steps.isEmpty {
            last.counters.add(drainAll())
            steps[steps.count - 1] = stepResult(
                step: steps.count, scenario: last.scenario, counters: last.counters, start: last.start, end: stoppedAt,
                server: last.server, generator: last.generator)
        }
        var result = LoadTestResult(
            server: options.server.url, serverPID: serverPID, mode: options.ramp == nil ? "fixed" : "ramp",
            rampGrowth: options.ramp, scenario: options.scenario, threads: options.threads, clip: summary,
            lossThresholdPercent: options.lossThresholdPercent, cpuThresholdPercent: options.cpuThresholdPercent,
            steps: steps, stopReason: stopReason, failures: failures)
        result.floor = floor
        result.floorWithoutGSO = floorWithoutGSO
        return result
    }


    /// What every run needs before its peers: the options checked, the clip encoded, the
    /// server's process found, a DTLS certificate, descriptors for `peak` sockets, the threads.
    /// The caller tears the threads down (`tearDown`).
    func prepare(peak: Int) throws(LoadTestError) -> ClipSummary {
        try options.validate()
        log("encoding \(options.clip.seconds) s of \(options.clip.width)x\(options.clip.height) VP8 at \(options.clip.videoKilobitsPerSecond) kbit/s\(options.clip.simulcast ? " (and its lower simulcast layers)" : "") and Opus ...")
        let clip = try MediaClip.encode(options.clip)
        self.clip = clip
        let summary = ClipSummary(clip)
        log("clip: video \(Self.f(summary.videoKilobitsPerSecond, 0)) kbit/s, \(Self.f(summary.videoPacketsPerSecond, 0)) pkt/s, keyframe \(summary.keyframeBytes) B; audio \(Self.f(summary.audioKilobitsPerSecond, 1)) kbit/s, \(Self.f(summary.audioPacketsPerSecond, 0)) pkt/s (encoded in \(Self.f(summary.encodeSeconds, 2)) s)")
        for layer in summary.simulcastLayers ?? [] {
            log("simulcast layer \(layer.rid): \(layer.width)x\(layer.height), \(Self.f(layer.videoKilobitsPerSecond, 0)) kbit/s, \(Self.f(layer.videoPacketsPerSecond, 0)) pkt/s")
        }

        serverPID = options.serverPID ?? ServerProcessStats.findListeningProcess(port: options.server.port)
        if let serverPID {
            guard ServerProcessStats.sample(pid: serverPID) != nil else { throw .badArgument("no process \(serverPID) to measure (--server-pid)") }
            log("server process \(serverPID)")
        } else {
            log("server process not found (pass --server-pid): CPU and RSS are not reported")
        }
        do {
            dtlsContext = try DTLSContext(certificate: DTLSCertificate())
        } catch {
            throw .setup("DTLS context: \(error)")
        }
        try Self.allowDescriptors(peak + 64)
        threads = (0..<options.threads).map { GeneratorThread(index: $0) }
        for thread in threads { thread.start() }
        return summary
    }

    // MARK: - Peers

    /// Adds the rooms, publishers and subscribers `target` has and the run does not yet.
    func grow(to target: Scenario) throws(LoadTestError) {
        for r in 0..<target.rooms {
            if r == rooms.count {
                rooms.append(RoomState(name: "lt-\(runID)-\(r)"))
                for p in 0..<target.publishersPerRoom {
                    rooms[r].publishers.append(try addPublisher(room: rooms[r].name, identity: "lt-\(runID)-r\(r)-p\(p)"))
                }
                if target.publishersSubscribe {
                    for subscriber in rooms[r].publishers {
                        for publisher in rooms[r].publishers where publisher.index != subscriber.index {
                            try addSubscription(room: rooms[r].name, to: publisher, identity: subscriber.identity)
                        }
                    }
                }
            }
            while rooms[r].listeners < target.subscribersPerRoom {
                let identity = "lt-\(runID)-r\(r)-s\(rooms[r].listeners)"
                for publisher in rooms[r].publishers {
                    try addSubscription(room: rooms[r].name, to: publisher, identity: identity)
                }
                rooms[r].listeners += 1
            }
        }
    }

    func addPublisher(room: String, identity: String) throws(LoadTestError) -> PublisherRecord {
        guard let clip, let dtlsContext else { throw .setup("not started") }
        let socket = try UDPEndpoint()
        let ice = ICECredentials.random()
        let audioSSRC = UInt32.random(in: 1...UInt32.max)
        let videoSSRCs = (0..<max(1, clip.layers.count)).map { _ in UInt32.random(in: 1...UInt32.max) }
        let local = LocalPeer(ice: ice, fingerprint: dtlsContext.certificate.fingerprint, port: socket.localAddress.port)
        let video: OfferedVideo = clip.layers.isEmpty ? .ssrc(videoSSRCs[0]) : .simulcast(rids: clip.layers.map(\.rid))
        let publication = try signaling.publish(room: room, identity: identity, local: local, audioSSRC: audioSSRC, video: video)
        let answer = publication.remote
        let index = publisherCount
        publisherCount += 1
        let record = PublisherRecord(
            index: index, identity: identity, publisherID: publication.publisherID, audioLog: SendLog(),
            videoLogs: videoSSRCs.map { _ in SendLog() })
        let media = PublisherMedia(
            clip: clip, publisherIndex: index, audioSSRC: audioSSRC, videoSSRCs: videoSSRCs, audioLog: record.audioLog,
            videoLogs: record.videoLogs)
        try start(label: identity, socket: socket, ice: ice, answer: answer, media: .publisher(media))
        return record
    }

    func addSubscription(room: String, to publisher: PublisherRecord, identity: String) throws(LoadTestError) {
        guard let dtlsContext, let clip else { throw .setup("not started") }
        let socket = try UDPEndpoint()
        let ice = ICECredentials.random()
        let local = LocalPeer(ice: ice, fingerprint: dtlsContext.certificate.fingerprint, port: socket.localAddress.port)
        let subscription = try signaling.subscribe(room: room, publisherID: publisher.publisherID, identity: identity, local: local)
        if !clip.layers.isEmpty {
            // Before the transport connects, so that the consumer starts on this layer's first
            // keyframe and never forwards another (the SFU's default is the highest).
            guard let chorus = signaling as? ChorusSignaling else { throw .badArgument("--simulcast needs --sfu chorus") }
            let layer = LayerMix.layer(forSubscription: subscriptionCount, layers: clip.layers.count)
            try chorus.setLayer(room: room, subscriptionID: subscription.subscriptionID, identity: identity, spatial: layer)
        }
        subscriptionCount += 1
        let media = SubscriberMedia(streams: [
            .init(
                ssrc: subscription.audioSSRC, isVideo: false, streamID: SendTimeTrailer.streamID(publisher: publisher.index, video: false),
                log: publisher.audioLog),
            .init(
                ssrc: subscription.videoSSRC, isVideo: true,
                sources: publisher.videoLogs.enumerated().map { layer, log in
                    .init(streamID: SendTimeTrailer.streamID(publisher: publisher.index, video: true, layer: layer), log: log)
                }),
        ], transportCC: options.transportCC)
        try start(label: "\(identity)<-\(publisher.identity)", socket: socket, ice: ice, answer: subscription.remote, media: .subscriber(media))
    }

    /// Creates the transport for an answered offer and hands the session to a thread.
    private func start(label: String, socket: UDPEndpoint, ice: ICECredentials, answer: SDPAnswer, media: PeerSession.Media) throws(LoadTestError) {
        guard let dtlsContext else { throw .setup("not started") }
        try LoopbackServer.requireLoopback(candidate: answer.candidate)
        try socket.connect(to: answer.candidate)
        let transport: ClientTransport
        do {
            transport = try ClientTransport(
                localICE: ice, remoteICE: answer.ice, remoteFingerprints: [answer.fingerprint], remoteAddress: answer.candidate,
                localAddress: socket.localAddress, dtlsContext: dtlsContext, now: .now)
        } catch {
            throw .setup("DTLS endpoint for \(label): \(error)")
        }
        let session = PeerSession(
            label: label, socket: socket, transport: transport, media: media,
            checkResponder: ICECheckResponder(local: ice, remote: answer.ice))
        threads[nextThread].send(.add(SessionHandoff(session: session)))
        nextThread = (nextThread + 1) % threads.count
        sessionCount += 1
    }

    func waitForConnections(step: Int) throws(LoadTestError) {
        let deadline = MonotonicTime.now() + 10_000_000_000 + UInt64(sessionCount) * 20_000_000
        var lastReport = MonotonicTime.now()
        while true {
            let (connected, failed) = tally()
            if connected + failed >= sessionCount { break }
            let now = MonotonicTime.now()
            if now >= deadline {
                throw .setup("only \(connected) of \(sessionCount) peers connected (\(failed) failed) in time; \(failures.prefix(3))")
            }
            if now - lastReport >= 1_000_000_000 {
                lastReport = now
                log("\(elapsed()) step \(step) | connecting: \(connected)/\(sessionCount) connected, \(failed) failed")
            }
            sleep(seconds: 0.05)
        }
        let (connected, failed) = tally()
        if connected == 0 { throw .setup("no peer connected; \(failures.prefix(3))") }
        log("\(elapsed()) step \(step) | \(connected)/\(sessionCount) peers connected\(failed > 0 ? ", \(failed) failed" : "")")
    }

    func tally() -> (connected: Int, failed: Int) {
        threads.reduce((0, 0)) { total, thread in
            let status = thread.status
            return (total.0 + status.connected, total.1 + status.failed)
        }
    }

    // MARK: - Measuring

    private func warmUp() {
        sleep(seconds: options.warmupSeconds)
        _ = drainAll()
    }

    private func measure(step: Int, scenario: Scenario)
        -> (scenario: Scenario, counters: TrafficCounters, start: UInt64, server: ProcessSample?, generator: ProcessSample?)
    {
        _ = drainAll()
        let start = MonotonicTime.now()
        let serverStart = serverPID.flatMap(ServerProcessStats.sample)
        let generatorStart = ServerProcessStats.sampleSelf()
        var previousServer = serverStart
        var previousGenerator = generatorStart
        var previousTime = start
        var total = TrafficCounters()
        for second in 1...options.duration {
            sleep(until: start + UInt64(second) * 1_000_000_000)
            let interval = drainAll()
            total.add(interval)
            let now = MonotonicTime.now()
            let server = serverPID.flatMap(ServerProcessStats.sample)
            let generator = ServerProcessStats.sampleSelf()
            let seconds = MonotonicTime.seconds(now - previousTime)
            var line = "\(elapsed()) step \(step) | rx \(Self.f(Double(interval.packetsReceived) / seconds, 0)) pkt/s "
                + "\(Self.f(Double(interval.bytesReceived) * 8 / seconds / 1e6, 1)) Mbit/s | loss \(Self.f(interval.lossPercent, 3)) % "
                + "dup \(interval.duplicates) | p99 \(Self.f(Double(interval.latency.value(atPercentile: 99)) / 1e6, 3)) ms "
                + "(send lag \(Self.f(Double(interval.sendLag.value(atPercentile: 99)) / 1e6, 3)))"
            if let server, let previousServer {
                line += " | server \(Self.f(ProcessSample.cpuPercent(from: previousServer, to: server), 1)) % CPU \(server.residentBytes >> 20) MB"
            }
            if let generator, let previousGenerator {
                line += " | generator \(Self.f(ProcessSample.cpuPercent(from: previousGenerator, to: generator), 1)) % CPU"
            }
            log(line)
            previousServer = server
            previousGenerator = generator
            previousTime = now
        }
        return (scenario, total, start, serverStart, generatorStart)
    }

    private func stepResult(
        step: Int, scenario: Scenario, counters: TrafficCounters, start: UInt64, end: UInt64, server: ProcessSample?,
        generator: ProcessSample?
    ) -> StepResult {
        let serverEnd = serverPID.flatMap(ServerProcessStats.sample)
        let generatorEnd = ServerProcessStats.sampleSelf()
        let (connected, failed) = tally()
        return StepResult(
            step: step, scenario: scenario, connected: connected, failed: failed, seconds: MonotonicTime.seconds(end - start),
            offeredPacketsPerSecond: clip.map { LayerMix.offeredPacketsPerSecond(subscriptions: scenario.subscriptions, clip: $0) } ?? 0,
            counters: counters,
            serverCPUPercent: server.flatMap { s in serverEnd.map { ProcessSample.cpuPercent(from: s, to: $0) } },
            serverRSSMegabytes: serverEnd.map { Double($0.residentBytes) / 1_048_576 },
            generatorCPUPercent: generator.flatMap { g in generatorEnd.map { ProcessSample.cpuPercent(from: g, to: $0) } })
    }

    /// Why the ramp stops after `result`, or nil to go on to `next`.
    private func rampLimit(after result: StepResult, next: Scenario, step: Int) -> String? {
        if result.lossPercent > options.lossThresholdPercent {
            return "loss \(Self.f(result.lossPercent, 2)) % above \(Self.f(options.lossThresholdPercent, 2)) %"
        }
        if let cpu = result.serverCPUPercent, cpu >= options.cpuThresholdPercent {
            return "server CPU \(Self.f(cpu, 1)) % at or above \(Self.f(options.cpuThresholdPercent, 0)) % of a core"
        }
        if result.failed * 10 > result.transports {
            return "\(result.failed) of \(result.transports) peers failed"
        }
        if next.transports > LoadLimits.maxTransports {
            return "peer cap: the next step needs \(next.transports) connections (max \(LoadLimits.maxTransports))"
        }
        let perStep = MonotonicTime.seconds(MonotonicTime.now() - startedAt) / Double(step)
        if MonotonicTime.seconds(MonotonicTime.now() - startedAt) + perStep > Double(LoadLimits.maxSeconds) {
            return "time cap: another step would pass \(LoadLimits.maxSeconds) s"
        }
        return nil
    }

    /// The counters of every thread up to now: each thread is asked to hand over what it has
    /// (it does so within a round, 1 ms) so that step boundaries are exact, not 100 ms late.
    func drainAll() -> TrafficCounters {
        let before = threads.map(\.status.flushes)
        for thread in threads { thread.send(.flush) }
        let deadline = MonotonicTime.now() + 200_000_000
        while MonotonicTime.now() < deadline, zip(threads, before).contains(where: { $0.status.flushes == $1 }) {
            MonotonicTime.sleep(until: MonotonicTime.now() + 200_000)
        }
        var total = TrafficCounters()
        for thread in threads {
            let shared = thread.drain()
            total.add(shared.counters)
            for failure in shared.failures where failures.count < 50 { failures.append(failure) }
        }
        return total
    }

    // MARK: - Teardown

    func tearDown() {
        for thread in threads {
            thread.send(.stopPublishing)
            thread.send(.closeAll)
        }
        sleep(seconds: 0.1)
        signaling.leave()
        for thread in threads { thread.send(.exit) }
        let deadline = MonotonicTime.now() + 3_000_000_000
        while MonotonicTime.now() < deadline, !threads.allSatisfy({ $0.status.finished }) { sleep(seconds: 0.01) }
    }

    // MARK: - Helpers

    /// One socket per peer: raise the soft descriptor limit towards the hard one if needed.
    static func allowDescriptors(_ wanted: Int) throws(LoadTestError) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(wanted) else { return }
        let raised = min(limit.rlim_max, rlim_t(wanted))
        limit.rlim_cur = raised
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        guard raised >= rlim_t(wanted) else {
            throw .overLimit("\(wanted) file descriptors needed, the hard limit is \(raised) (ulimit -Hn)")
        }
    }

    func elapsed() -> String {
        "[" + Self.f(MonotonicTime.seconds(MonotonicTime.now() - startedAt), 1).leftPadded(to: 6) + " s]"
    }

    func sleep(seconds: Double) {
        sleep(until: MonotonicTime.now() + UInt64(seconds * 1e9))
    }

    func sleep(until deadline: UInt64) {
        while true {
            let now = MonotonicTime.now()
            guard now < deadline else { return }
            var request = timespec(tv_sec: Int((deadline - now) / 1_000_000_000), tv_nsec: Int((deadline - now) % 1_000_000_000))
            nanosleep(&request, nil)
        }
    }

    static func f(_ value: Double, _ decimals: Int) -> String {
        LoadTestResult.format(value, decimals)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
