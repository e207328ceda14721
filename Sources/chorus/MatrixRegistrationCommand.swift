// `chorus matrix-registration`: writes the application-service registration the homeserver
// loads (app_service_config_files) and `serve --matrix-registration` reads.

import ArgumentParser
import Signaling

#if canImport(Glibc)
import Glibc
#endif

struct MatrixRegistrationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix-registration",
        abstract: "Write a Matrix application-service registration (YAML) for this Chorus server.")

    @Option(help: "Chorus's base URL as the homeserver reaches it (where it sends transactions).")
    var url: String
    @Option(help: "The homeserver's server name (the part after ':' in its user ids).")
    var serverName: String
    @Option(help: "Write the file here (mode 0600) instead of to standard output.")
    var output: String?

    func validate() throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ValidationError("--url must be an http:// or https:// URL, not '\(url)'")
        }
        guard !serverName.isEmpty, !serverName.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" }) else {
            throw ValidationError("--server-name must be a server name such as example.org or matrix.example.org:8448")
        }
    }

    func run() throws {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let yaml = MatrixRegistration.generate(url: base, serverName: serverName).yaml
        guard let output else {
            print(yaml, terminator: "")
            return
        }
        // The tokens are secrets: readable by the owner only, created so from the start.
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw ValidationError("cannot write \(output): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(yaml.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw ValidationError("cannot write \(output): \(String(cString: strerror(errno)))") }
    }
}
