// swift-tools-version: 6.1
// Chorus: a group-call server (SFU + signaling). Layers and their rules: docs/ARCHITECTURE.md.
import PackageDescription

// CHORUS_PACKAGE=core leaves out the server (Signaling, the chorus executable, their tests) and
// with it Hummingbird, NIO and PostgresNIO: what the sanitizer stages and the bounded fuzz build
// compile (scripts/test.sh), because instrumenting those packages again costs ~10 minutes a build
// on CI's two cores. The full package is the default and the only one anything ships from.
let coreOnly = Context.environment["CHORUS_PACKAGE"] == "core"
let serverTargets: Set<String> = ["Signaling", "chorus", "SignalingTestSupport", "SignalingTests"]

let package = Package(
    name: "chorus",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        .library(name: "RTP", targets: ["RTP"]),
        .library(name: "ICE", targets: ["ICE"]),
        .library(name: "SFU", targets: ["SFU"]),
        .library(name: "SDP", targets: ["SDP"]),
        .library(name: "Auth", targets: ["Auth"]),
        .library(name: "SocketIO", targets: ["SocketIO"]),
        .library(name: "Signaling", targets: ["Signaling"]),
        // The in-memory network the SFU's tests and the benchmarks drive MediaCore with.
        .library(name: "SFUTesting", targets: ["SFUTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // The Matrix homeserver client (whoami, room members, sending m.call.* events). Already in
        // the test build through HummingbirdTesting, so it costs the CI nothing extra.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // libsrtp2 from Debian (libsrtp2-dev): the reference SRTP implementation.
        .systemLibrary(
            name: "CSRTP",
            path: "Sources/CSRTP",
            pkgConfig: "libsrtp2",
            providers: [.apt(["libsrtp2-dev"])]
        ),
        // OpenSSL (libssl-dev) plus the few wrappers Swift cannot import: macros, callbacks.
        .target(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        // recvmmsg/sendmmsg, which Swift's Glibc module hides behind _GNU_SOURCE.
        .target(name: "CSockets", path: "Sources/CSockets"),
        // Prefetch hints (static inline, from the compiler's builtins) for the fan-out loop.
        .target(name: "CCacheHints", path: "Sources/CCacheHints"),
        // libopus and libvpx from Debian: the load generator encodes its clip with them once at start.
        .systemLibrary(name: "COpus", path: "Sources/COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CVPX", path: "Sources/CVPX", pkgConfig: "vpx", providers: [.apt(["libvpx-dev"])]),
        .target(
            name: "RTP",
            dependencies: ["CSRTP", "COpenSSL", "CCacheHints"],
            path: "Sources/RTP"
        ),
        .target(
            name: "ICE",
            dependencies: ["COpenSSL"],
            path: "Sources/ICE"
        ),
        .target(
            name: "SFU",
            dependencies: [
                "RTP", "ICE", "COpenSSL", "CSockets", "CCacheHints",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/SFU"
        ),
        // SDP: parse, negotiate, answer, group-call sections. No HTTP, sockets or databases.
        .target(name: "SDP", path: "Sources/SDP"),
        // Chorus access tokens (HS256 JWTs) and their claims; Matrix access tokens checked through
        // the homeserver (behind a protocol: the HTTP client lives in Signaling).
        .target(name: "Auth", dependencies: ["COpenSSL"], path: "Sources/Auth"),
        // The sans-IO Engine.IO v4 / Socket.IO v4 codec and session, and the realtime vocabulary
        // (JSON values, events, identities) both realtime transports speak.
        .target(name: "SocketIO", path: "Sources/SocketIO"),
        .target(
            name: "Signaling",
            dependencies: [
                "SFU", "RTP", "ICE", "COpenSSL", "SDP", "Auth", "SocketIO",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Signaling",
            resources: [.copy("Migrations"), .copy("OpenAPI"), .copy("Web")]
        ),
        // `chorus loadtest`: real WebRTC publishers and subscribers against a server on 127.0.0.1.
        .target(
            name: "LoadTest",
            dependencies: ["SFU", "Auth", "RTP", "ICE", "COpenSSL", "CSockets", "COpus", "CVPX"],
            path: "Sources/LoadTest"
        ),
        .executableTarget(
            name: "chorus",
            dependencies: [
                "Signaling", "SFU", "RTP", "LoadTest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/chorus"
        ),
        .target(name: "ChorusTestSupport", path: "Tests/ChorusTestSupport"),
        .target(name: "SFUTesting", dependencies: ["SFU", "RTP", "ICE", "ChorusTestSupport"], path: "Tests/SFUTesting"),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "ChorusTestSupport"]),
        .testTarget(name: "ICETests", dependencies: ["ICE", "ChorusTestSupport"]),
        .testTarget(name: "SDPTests", dependencies: ["SDP", "ChorusTestSupport"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth"]),
        .testTarget(name: "SocketIOTests", dependencies: ["SocketIO", "ChorusTestSupport"]),
        .testTarget(name: "LoadTestTests", dependencies: ["LoadTest", "RTP", "ICE", "SFU", "SDP", "COpus", "CVPX", "ChorusTestSupport"]),
        .testTarget(
            name: "SFUTests", dependencies: ["SFU", "SFUTesting", "RTP", "ICE", "COpenSSL", "ChorusTestSupport"]),
        // The Signaling tests' shared harness: the whole HTTP surface over a temporary SQLite
        // store, recording realtime clients, a test clock. Apart from ChorusTestSupport, which
        // the benchmarks' SFUTesting uses and which must stay free of Hummingbird.
        .target(
            name: "SignalingTestSupport",
            dependencies: [
                "Signaling", "SFU", "Auth", "SocketIO",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SignalingTestSupport"
        ),
        .testTarget(
            name: "SignalingTests",
            dependencies: [
                "Signaling", "SFU", "ChorusTestSupport", "SignalingTestSupport", "Auth", "SocketIO", "SDP",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
            ]
        ),
    ]
)

if coreOnly {
    package.products.removeAll { serverTargets.contains($0.name) }
    package.targets.removeAll { serverTargets.contains($0.name) }
    package.dependencies.removeAll { dependency in
        guard case .sourceControl(_, let location, _) = dependency.kind else { return false }
        return !location.hasSuffix("/swift-log")
    }
}
