// swift-tools-version: 6.1
// Chorus packet-path benchmarks (ordo-one/benchmark): ns and mallocs per packet for RTP parse,
// STUN parse+verify, SRTP protect/unprotect and the whole SFU forward step. See README.md.
import PackageDescription

// A path dependency is known by its folder's name ("main" here, something else in another
// clone), not by the name in its manifest; work it out rather than hard-code it.
let chorus = Context.packageDirectory.split(separator: "/").dropLast().last.map { String($0).lowercased() } ?? "chorus"

let package = Package(
    name: "chorus-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        // MallocInterposer counts mallocs per iteration; naming the trait also turns off the
        // default RuntimeInterposer, whose package is not in every mirror.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Fixtures shared by the benchmark targets (packets, keys, preallocated slots).
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "RTP", package: chorus),
                .product(name: "ICE", package: chorus),
                .product(name: "SFU", package: chorus),
                .product(name: "SFUTesting", package: chorus),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Sources/BenchSupport"
        ),
        // The forward loop without the benchmark harness, for valgrind (callgrind, dhat):
        // `ForwardingProbe <fan-out> <gcm|cm> <packets>`. See README.md.
        .executableTarget(
            name: "ForwardingProbe",
            dependencies: ["BenchSupport", .product(name: "RTP", package: chorus)],
            path: "Sources/ForwardingProbe"
        ),
        .executableTarget(
            name: "Parsing",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RTP", package: chorus),
                .product(name: "ICE", package: chorus),
            ],
            path: "Benchmarks/Parsing",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "SRTP",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RTP", package: chorus),
            ],
            path: "Benchmarks/SRTP",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Forwarding",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RTP", package: chorus),
                .product(name: "ICE", package: chorus),
                .product(name: "SFU", package: chorus),
            ],
            path: "Benchmarks/Forwarding",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
