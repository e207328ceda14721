// Signs and verifies access tokens: compact JWS with HS256 (RFC 7515, RFC 7518 §3.2) under one
// shared secret (CHORUS_JWT_SECRET). Written on OpenSSL's HMAC rather than jwt-kit because
// jwt-kit traps on secrets shorter than 32 bytes, and the documented development secret
// `chorus-dev-secret` is 17.

import COpenSSL

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public struct TokenAuthority: Sendable {
    /// The secret `serve` uses on a loopback host when none is configured (and warns about).
    public static let developmentSecret = "chorus-dev-secret"

    private let secret: [UInt8]

    public init(secret: String) {
        self.secret = Array(secret.utf8)
    }

    /// RFC 7518 §3.2 asks for a key at least as long as the hash (32 bytes).
    public var isSecretShort: Bool { secret.count < 32 }

    public func sign(_ claims: AccessClaims) throws -> String {
        let header = Self.base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = Self.base64URL(Array(try encoder.encode(claims)))
        let signingInput = header + "." + payload
        return signingInput + "." + Self.base64URL(hmac(Array(signingInput.utf8)))
    }

    public func makeToken(identity: String, room: String, publish: Bool, subscribe: Bool, admin: Bool, ttl: Int, now: Date = Date()) throws -> String {
        try sign(AccessClaims(
            identity: identity, room: room, publish: publish, subscribe: subscribe, admin: admin,
            expiresAt: Int64(now.timeIntervalSince1970) + Int64(ttl)))
    }

    public enum Rejection: Error, Equatable, Sendable {
        case malformed, unsupportedAlgorithm, badSignature, expired, badClaims
    }

    /// Verifies structure, algorithm (HS256 only: `none` and others are refused), signature in
    /// constant time, and expiry.
    public func verify(_ token: String, now: Date = Date()) -> Result<AccessClaims, Rejection> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.decodeBase64URL(parts[0]),
            let payloadBytes = Self.decodeBase64URL(parts[1]), let signature = Self.decodeBase64URL(parts[2])
        else { return .failure(.malformed) }
        struct Header: Decodable { var alg: String }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else {
            return .failure(.malformed)
        }
        guard header.alg == "HS256" else { return .failure(.unsupportedAlgorithm) }
        let expected = hmac(Array((parts[0] + "." + parts[1]).utf8))
        guard signature.count == expected.count,
            zip(signature, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0
        else { return .failure(.badSignature) }
        guard let claims = try? JSONDecoder().decode(AccessClaims.self, from: Data(payloadBytes)) else {
            return .failure(.badClaims)
        }
        guard claims.exp > Int64(now.timeIntervalSince1970) else { return .failure(.expired) }
        return .success(claims)
    }

    private func hmac(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = secret.withUnsafeBytes { key in
            message.withUnsafeBytes { data in
                HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), data.bindMemory(to: UInt8.self).baseAddress,
                     data.count, &out, &length)
            }
        }
        return out
    }

    /// RFC 4648 §5: `+` and `/` become `-` and `_`, and JWS drops the padding (RFC 7515 §2).
    package static func base64URL(_ bytes: [UInt8]) -> String {
        String(Data(bytes).base64EncodedString().compactMap { character -> Character? in
            switch character {
            case "+": "-"
            case "/": "_"
            case "=": nil
            default: character
            }
        })
    }

    package static func decodeBase64URL(_ text: Substring) -> [UInt8]? {
        guard text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { return nil }
        var base64 = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
