// Mints the HS256 access tokens Chorus checks (RFC 7515 compact JWS, RFC 7518 §3.2), from the
// secret given to the load test. The same construction as Signaling's TokenAuthority, kept
// here so the generator does not pull in the HTTP server and database drivers.

import COpenSSL

public struct AccessTokenMinter: Sendable {
    private let secret: [UInt8]

    public init(secret: String) {
        self.secret = Array(secret.utf8)
    }

    /// Claims as Chorus reads them (`AccessClaims`): sub, room, grants, exp in Unix seconds.
    /// Keys are written sorted, as TokenAuthority's JSONEncoder writes them.
    public func token(identity: String, room: String, publish: Bool, subscribe: Bool, admin: Bool = false, expiresAt: Int64) -> String {
        let header = Self.base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let claims = "{\"admin\":\(admin),\"exp\":\(expiresAt),\"publish\":\(publish),\"room\":\(Self.jsonString(room)),"
            + "\"sub\":\(Self.jsonString(identity)),\"subscribe\":\(subscribe)}"
        let signingInput = header + "." + Self.base64URL(Array(claims.utf8))
        return signingInput + "." + Self.base64URL(hmacSHA256(Array(signingInput.utf8)))
    }

    func hmacSHA256(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        secret.withUnsafeBytes { key in
            message.withUnsafeBytes { data in
                _ = HMAC(
                    EVP_sha256(), key.baseAddress, Int32(key.count), data.bindMemory(to: UInt8.self).baseAddress,
                    data.count, &out, &length)
            }
        }
        return out
    }

    /// RFC 4648 §5 without padding (RFC 7515 §2).
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        switch bytes.count - i {
        case 1:
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
        case 2:
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal (RFC 8259 §7).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
