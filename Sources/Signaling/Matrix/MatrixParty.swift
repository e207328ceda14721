// The `party_id` Chorus uses when it speaks for a user in a call (Matrix spec, VoIP v1: one
// party per device in a call). Derived, not stored: the same user in the same call always gets
// the same one, across restarts, so that Chorus recognises its own events when the homeserver
// sends them back in a transaction. A user's Matrix clients have their own party ids (device
// ids), so what they send is never taken for Chorus's echo.

import COpenSSL

enum MatrixParty {
    static let prefix = "chorus_"

    static func id(call callId: String, user: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let bytes = Array((callId + "\n" + user).utf8)
        bytes.withUnsafeBufferPointer { input in
            _ = SHA256(input.baseAddress, input.count, &digest)
        }
        let digits = Array("0123456789abcdef")
        return prefix + String(digest.prefix(8).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    /// Whether an event from `sender` with this `party_id` is one Chorus sent itself.
    static func isChorus(_ partyID: String?, call callId: String, sender: String) -> Bool {
        partyID == id(call: callId, user: sender)
    }
}
