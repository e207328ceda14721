// Session and socket ids: 15 random bytes as 20 base64url characters, the shape engine.io's
// ids have. A session id is the only credential of a polling session, so it comes from the
// system's cryptographic generator.

public enum SocketIOIdentifier {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> String {
        // 20 characters × 6 bits = 120 bits = 15 bytes.
        var characters: [UInt8] = []
        characters.reserveCapacity(20)
        for _ in 0..<20 {
            characters.append(alphabet[Int(generator.next() & 63)])
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
