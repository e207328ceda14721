// ICE username fragment and password (RFC 8445 §5.3), exchanged in SDP as a=ice-ufrag and
// a=ice-pwd; the pwd is the MESSAGE-INTEGRITY key of every check sent to this side.

public struct ICECredentials: Hashable, Sendable {
    public let ufrag: String
    public let pwd: String

    public init(ufrag: String, pwd: String) {
        self.ufrag = ufrag
        self.pwd = pwd
    }

    /// RFC 8445 §5.3 asks for at least 24 random bits in the ufrag (4 ice-chars) and 128 in
    /// the pwd (22 ice-chars); 8 and 24 characters give 48 and 144 bits.
    public static func random() -> ICECredentials {
        random(ufragPrefix: "")
    }

    /// The same, with a ufrag that starts with `ufragPrefix` (ice-chars) before its 8 random
    /// ones: a server sharing one port among workers tags each worker's ufrags.
    public static func random(ufragPrefix: String) -> ICECredentials {
        ICECredentials(ufrag: ufragPrefix + randomICEChars(8), pwd: randomICEChars(24))
    }

    /// ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4): 64 characters, so the low six
    /// bits of a random byte pick one without bias.
    public static let iceChars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func randomICEChars(_ count: Int) -> String {
        String(decoding: secureRandomBytes(count).map { iceChars[Int($0 & 63)] }, as: UTF8.self)
    }
}
