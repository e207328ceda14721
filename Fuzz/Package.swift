// swift-tools-version: 6.1
// Chorus's libFuzzer targets: one executable per parser that holds only the
// `LLVMFuzzerTestOneInput` entry point. A separate SwiftPM package that depends on the root one
// by path (as Benchmarks/ does), so that `swift build --build-tests` in the root never builds
// them: they only link with `-sanitize=fuzzer`. Build and run with scripts/fuzz.sh; seeds in
// Corpus/<target>/ (made by Corpus/make-seeds.py). See docs/ARCHITECTURE.md, "Robustness".
import PackageDescription

// A path dependency is known by its folder's name ("main" here, something else in another
// clone), not by the name in its manifest; work it out rather than hard-code it.
let chorus = Context.packageDirectory.split(separator: "/").dropLast().last.map { String($0).lowercased() } ?? "chorus"

// CHORUS_PACKAGE=core (read by the root manifest too) leaves out the server and so the one fuzzer
// that needs it, FuzzJSONRequests: the bounded fuzz stage builds the rest without compiling
// Hummingbird, NIO and PostgresNIO with the sanitizers (scripts/fuzz.sh).
let coreOnly = Context.environment["CHORUS_PACKAGE"] == "core"

/// One fuzzer: Sources/<name>/<name>.swift, linked against the Chorus libraries it fuzzes.
func fuzzer(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["CLibFuzzer"] + products.map { .product(name: $0, package: chorus) },
        path: "Sources/\(name)"
    )
}

let package = Package(
    name: "chorus-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        // The declaration of libFuzzer's driver, which each fuzzer's top-level code starts.
        .systemLibrary(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
        fuzzer("FuzzSTUN", ["ICE"]),
        fuzzer("FuzzRTP", ["RTP"]),
        fuzzer("FuzzRTCP", ["RTP"]),
        fuzzer("FuzzSRTP", ["RTP"]),
        fuzzer("FuzzDTLS", ["SFU", "RTP"]),
        fuzzer("FuzzSDP", ["SDP"]),
        fuzzer("FuzzSocketIO", ["SocketIO"]),
    ] + (coreOnly ? [] : [fuzzer("FuzzJSONRequests", ["Signaling", "SocketIO"])])
)
