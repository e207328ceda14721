// Why an Engine.IO HTTP request was refused: the reference server's error codes, sent as
// `{"code": n, "message": "..."}` with HTTP 400 (413 for a body over maxPayload).

public struct EngineIOError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    /// HTTP status of the refusal.
    public var status: Int

    public init(code: Int, message: String, status: Int = 400) {
        self.code = code
        self.message = message
        self.status = status
    }

    // The numbering is engine.io's `Server.errors`, which clients may switch on.
    public static let unknownTransport = EngineIOError(code: 0, message: "Transport unknown")
    public static let unknownSession = EngineIOError(code: 1, message: "Session ID unknown")
    public static let badHandshakeMethod = EngineIOError(code: 2, message: "Bad handshake method")
    public static let badRequest = EngineIOError(code: 3, message: "Bad request")
    public static let forbidden = EngineIOError(code: 4, message: "Forbidden")
    public static let unsupportedProtocolVersion = EngineIOError(code: 5, message: "Unsupported protocol version")
    public static let payloadTooLarge = EngineIOError(code: 3, message: "Payload too large", status: 413)

    /// The JSON body of the refusal.
    public var body: String {
        var escaped = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20: escaped += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return #"{"code":\#(code),"message":"\#(escaped)"}"#
    }

    public var description: String { "\(message) (code \(code))" }
}
