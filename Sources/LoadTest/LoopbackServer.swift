// The one server a load test may target: Chorus's HTTP API on 127.0.0.1. A generator that can
// send a few hundred Mbit/s must not be pointed at someone else's machine by a typo.

import ICE

public struct LoopbackServer: Equatable, Sendable, CustomStringConvertible {
    public static let host = "127.0.0.1"
    public let port: UInt16

    public init(port: UInt16) {
        self.port = port
    }

    /// `http://127.0.0.1:<port>` (a trailing `/` is fine; `localhost` means 127.0.0.1). Any other
    /// host is refused with `.notLoopback`, anything that is not such a URL with `.badServerURL`.
    public init(url text: String) throws(LoadTestError) {
        var rest = Substring(text.trimming(" \t"))
        guard rest.lowercased().hasPrefix("http://") else {
            if rest.lowercased().hasPrefix("https://") {
                throw .badServerURL(text + " (loopback needs no TLS; use http://)")
            }
            throw .badServerURL(text)
        }
        rest = rest.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("@"), !rest.isEmpty else { throw .badServerURL(text) }
        let host: Substring
        let portText: Substring?
        if rest.hasPrefix("[") {
            // An IPv6 literal: never loopback for us (Chorus announces 127.0.0.1 here).
            guard let close = rest.firstIndex(of: "]") else { throw .badServerURL(text) }
            host = rest[rest.startIndex...close]
            let after = rest[rest.index(after: close)...]
            portText = after.hasPrefix(":") ? after.dropFirst() : nil
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
            portText = nil
        }
        guard Self.isLoopbackName(host) else { throw .notLoopback("host '\(host)'") }
        guard let portText else {
            self.init(port: 80)
            return
        }
        guard let port = UInt16(portText), port > 0 else { throw .badServerURL(text) }
        self.init(port: port)
    }

    /// Only the literal address and the name every resolver maps to it.
    static func isLoopbackName(_ host: Substring) -> Bool {
        host == "127.0.0.1" || host.lowercased() == "localhost"
    }

    /// Media goes where the answer's candidate says; it must be this machine too.
    public static func requireLoopback(candidate: TransportAddress) throws(LoadTestError) {
        guard candidate.ip == .v4(127, 0, 0, 1) else {
            throw .notLoopback("the server's media candidate \(candidate) (start it with --announced-ip 127.0.0.1)")
        }
    }

    public var url: String { "http://\(Self.host):\(port)" }
    public var description: String { url }
}

extension StringProtocol {
    /// Without the characters of `set` at either end (Foundation's version takes a CharacterSet).
    func trimming(_ set: String) -> String {
        let characters = Set(set)
        var view = Substring(self)
        while let first = view.first, characters.contains(first) { view = view.dropFirst() }
        while let last = view.last, characters.contains(last) { view = view.dropLast() }
        return String(view)
    }
}
