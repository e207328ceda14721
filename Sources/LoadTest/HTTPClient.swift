// Plain HTTP/1.1 over a blocking TCP socket to 127.0.0.1, one request per connection: the load
// test's control plane (a few WHIP/WHEP requests per peer) needs nothing more.

import Glibc

public struct HTTPResponse: Equatable, Sendable {
    public var status: Int
    /// Header names lower-cased, in the order received.
    public var headers: [(name: String, value: String)]
    public var body: String

    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }

    public static func == (a: HTTPResponse, b: HTTPResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.map(\.name) == b.headers.map(\.name)
            && a.headers.map(\.value) == b.headers.map(\.value)
    }

    /// A whole response as read until the server closed the connection. The body is bounded by
    /// Content-Length, or de-chunked (RFC 9112 §7.1), or runs to the end.
    public init(parsing bytes: [UInt8]) throws(LoadTestError) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = Self.find(separator, in: bytes) else { throw .http("response without a complete header") }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { throw .http("empty response") }
        let statusLine = lines.removeFirst()
        let fields = statusLine.split(separator: " ", maxSplits: 2)
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let status = Int(fields[1]), (100...599).contains(status) else {
            throw .http("bad status line '\(statusLine.prefix(80))'")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .http("bad header line '\(line.prefix(80))'") }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimming(" \t")))
        }
        var body = Array(bytes[(end + 4)...])
        let lookup = { (name: String) in headers.first { $0.name == name }?.value }
        if lookup("transfer-encoding")?.lowercased().contains("chunked") == true {
            body = try Self.dechunk(body)
        } else if let text = lookup("content-length") {
            guard let length = Int(text), length >= 0 else { throw .http("bad Content-Length '\(text)'") }
            guard body.count >= length else { throw .http("body shorter (\(body.count)) than Content-Length \(length)") }
            body = Array(body.prefix(length))
        }
        self.status = status
        self.headers = headers
        self.body = String(decoding: body, as: UTF8.self)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    static func dechunk(_ bytes: [UInt8]) throws(LoadTestError) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find([13, 10], in: Array(bytes[i...])).map({ $0 + i }) else {
                throw .http("truncated chunk size")
            }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimming(" "), radix: 16), size >= 0 else {
                throw .http("bad chunk size '\(sizeText)'")
            }
            i = lineEnd + 2
            if size == 0 { return out }
            guard i + size <= bytes.count else { throw .http("truncated chunk") }
            out += bytes[i..<(i + size)]
            i += size + 2
        }
    }
}

public enum HTTPClient {
    /// One request to 127.0.0.1:`port`; waits at most `timeoutSeconds` for each read and write.
    public static func send(
        method: String, port: UInt16, path: String, headers: [(String, String)] = [], body: String = "",
        timeoutSeconds: Int = 15
    ) throws(LoadTestError) -> HTTPResponse {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .http("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            throw .http("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        let bodyBytes = Array(body.utf8)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\nUser-Agent: chorus-loadtest\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "Content-Length: \(bodyBytes.count)\r\n\r\n"
        let bytes = Array(request.utf8) + bodyBytes
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw .http("\(method) \(path): write failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw .http("\(method) \(path): read failed: \(String(cString: strerror(errno)))") }
            received += buffer[0..<n]
            guard received.count <= 1 << 20 else { throw .http("\(method) \(path): response larger than 1 MiB") }
        }
        return try HTTPResponse(parsing: received)
    }
}
