// The small fields of a session description (RFC 8866 §5): o=, t= with its r= lines, b=, and
// the lines Chorus keeps without interpreting (u=, e=, p=, z=, k=, unknown letters).

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (§5.2).
public struct SDPOrigin: Equatable, Sendable {
    public var username: String
    /// Digits, kept as text: §5.2 sets no upper bound and some peers send 20-digit values.
    public var sessionID: String
    public var sessionVersion: String
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(
        username: String = "-", sessionID: String, sessionVersion: String,
        networkType: String = "IN", addressType: String = "IP4", address: String = "127.0.0.1"
    ) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    package init(parsing value: Substring, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 6 else {
            throw .malformed(line: line, reason: "o= needs 6 fields, found \(fields.count) (RFC 8866 §5.2)")
        }
        guard fields[1].allSatisfy(\.isSDPDigit), fields[2].allSatisfy(\.isSDPDigit) else {
            throw .malformed(line: line, reason: "o= session id and version must be digits")
        }
        self.init(
            username: String(fields[0]), sessionID: String(fields[1]), sessionVersion: String(fields[2]),
            networkType: String(fields[3]), addressType: String(fields[4]), address: String(fields[5]))
    }

    package var rendered: String {
        "\(username) \(sessionID) \(sessionVersion) \(networkType) \(addressType) \(address)"
    }
}

/// `t=<start> <stop>` (§5.9) with the `r=` lines that follow it (§5.10, kept verbatim).
public struct SDPTiming: Equatable, Sendable {
    public var start: UInt64
    public var stop: UInt64
    public var repeats: [String]

    public init(start: UInt64 = 0, stop: UInt64 = 0, repeats: [String] = []) {
        self.start = start
        self.stop = stop
        self.repeats = repeats
    }

    package init(parsing value: Substring, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 2, let start: UInt64 = sdpDecimal(fields[0]), let stop: UInt64 = sdpDecimal(fields[1]) else {
            throw .malformed(line: line, reason: "t= needs two decimal times (RFC 8866 §5.9)")
        }
        self.init(start: start, stop: stop)
    }
}

/// `b=<bwtype>:<bandwidth>` (§5.8): AS and CT in kbit/s, TIAS (RFC 3890) in bit/s.
public struct SDPBandwidth: Equatable, Sendable {
    public var type: String
    public var value: UInt64

    public init(type: String, value: UInt64) {
        self.type = type
        self.value = value
    }

    package init(parsing value: Substring, line: Int) throws(SDPError) {
        guard let colon = value.firstIndex(of: ":"), colon != value.startIndex,
              let amount: UInt64 = sdpDecimal(value[value.index(after: colon)...])
        else {
            throw .malformed(line: line, reason: "b= must be <type>:<decimal> (RFC 8866 §5.8)")
        }
        self.init(type: String(value[..<colon]), value: amount)
    }

    package var rendered: String { "\(type):\(value)" }
}

/// A line Chorus keeps but does not interpret. RFC 8866 §5 lets a parser ignore letters it does
/// not know; keeping them makes `render()` faithful.
public struct SDPLine: Equatable, Sendable {
    public var type: Character
    public var value: String

    public init(type: Character, value: String) {
        self.type = type
        self.value = value
    }
}

extension Character {
    package var isSDPDigit: Bool { isASCII && isNumber }
}
