// What may name an SFU room: it travels in URL paths (`/whip/{room}`, `Location` headers),
// logs and token claims, so it is short, printable and unambiguous. Path segments arrive
// percent-decoded, which is how `%2e%2e` became a room called `..`.

import Hummingbird

public enum RoomName {
    /// Matrix room ids (`!opaque:server`) and Chorus call ids (36-character UUIDs) fit easily.
    static let maximumBytes = 128

    /// RFC 3986 unreserved characters plus `!`, `:`, `@`, `+` and `=` (Matrix room ids and
    /// aliases use the first three): nothing that needs escaping in a path, no `/`, `%`, `*`.
    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: "!"),
            UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "+"), UInt8(ascii: "="):
            true
        default:
            false
        }
    }

    /// Why `name` cannot name a room, or nil when it can. `*` is refused with the rest: in a
    /// token's `room` claim it means "any room", so no room may be called that.
    public static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "a room name cannot be empty" }
        if bytes.count > maximumBytes { return "a room name has at most \(maximumBytes) bytes" }
        guard bytes.allSatisfy(isAllowed) else {
            return "a room name may contain only letters, digits and - _ . ~ ! : @ + ="
        }
        // `.` and `..` are path segments with a meaning of their own (RFC 3986 §3.3).
        if bytes.allSatisfy({ $0 == UInt8(ascii: ".") }) { return "a room name cannot be only dots" }
        return nil
    }

}

/// The `room` path parameter, checked: 400 `bad_room` when it cannot name a room.
func roomParameter(_ context: some RequestContext) throws -> String {
    let name = try pathParameter("room", context)
    if let problem = RoomName.problem(with: name) { throw APIError.badRequest("bad_room", problem) }
    return name
}
