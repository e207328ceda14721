// HS256 access tokens: round trip, expiry, forgery, algorithm confusion, malformed input.

import Foundation
import Testing
@testable import Auth

@Suite struct TokenAuthorityTests {
    let authority = TokenAuthority(secret: "chorus-dev-secret")

    @Test func roundTripKeepsClaims() throws {
        let token = try authority.makeToken(identity: "alice", room: "r1", publish: true, subscribe: false, admin: true, ttl: 60)
        let claims = try authority.verify(token).get()
        #expect(claims.identity == "alice")
        #expect(claims.room == "r1")
        #expect(claims.canPublish && !claims.canSubscribe && claims.isAdmin)
        #expect(claims.allows(room: "r1") && !claims.allows(room: "r2"))
    }

    @Test func wildcardRoom() throws {
        let token = try authority.makeToken(identity: "ops", room: "*", publish: false, subscribe: true, admin: false, ttl: 60)
        #expect(try authority.verify(token).get().allows(room: "anything"))
    }

    @Test func expiredTokenIsRefused() throws {
        let token = try authority.makeToken(identity: "a", room: "r", publish: true, subscribe: true, admin: false, ttl: 60)
        #expect(authority.verify(token, now: Date().addingTimeInterval(61)) == .failure(.expired))
    }

    @Test func otherSecretTamperingAndAlgorithmConfusionAreRefused() throws {
        let token = try authority.makeToken(identity: "a", room: "r", publish: true, subscribe: true, admin: false, ttl: 60)
        #expect(TokenAuthority(secret: "other").verify(token) == .failure(.badSignature))
        let parts = token.split(separator: ".").map(String.init)
        // Same signature over a payload that claims admin.
        let forgedPayload = TokenAuthority.base64URL(Array(#"{"admin":true,"exp":9999999999,"room":"*","sub":"a"}"#.utf8))
        #expect(authority.verify([parts[0], forgedPayload, parts[2]].joined(separator: ".")) == .failure(.badSignature))
        // alg "none" with no signature must not pass.
        let none = TokenAuthority.base64URL(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        #expect(authority.verify([none, parts[1], ""].joined(separator: ".")) == .failure(.unsupportedAlgorithm))
    }

    @Test func malformedTokensAreRefused() {
        for token in ["", "a", "a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AAAA"] {
            if case .success = authority.verify(token) { Issue.record("accepted \(token)") }
        }
    }

    /// A token made by another implementation (Python's hmac, as the integration tests do)
    /// must verify: the signature is over the exact header.payload text.
    @Test func verifiesATokenSignedElsewhere() throws {
        // python3 -c 'import hmac,hashlib,base64;b=lambda x:base64.urlsafe_b64encode(x).rstrip(b"=");
        // h=b(b"{\"alg\":\"HS256\",\"typ\":\"JWT\"}");p=b(b"{\"sub\":\"bob\",\"room\":\"r9\",\"subscribe\":true,\"exp\":4102444800}");
        // print((h+b"."+p+b"."+b(hmac.new(b"chorus-dev-secret",h+b"."+p,hashlib.sha256).digest())).decode())'
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJyb29tIjoicjkiLCJzdWJzY3JpYmUiOnRydWUsImV4cCI6NDEwMjQ0NDgwMH0.Vc-ANaMoeK0V9vRlnwZu1ngUhu6E9Dir-wRC3B-QPds"
        let claims = try authority.verify(token).get()
        #expect(claims.identity == "bob" && claims.room == "r9" && claims.canSubscribe && !claims.canPublish)
        #expect(TokenAuthority(secret: "chorus-dev-secreT").verify(token) == .failure(.badSignature))
    }

    /// What it signs matches an independent HS256 implementation byte for byte (the load test
    /// signs its peers' tokens with this too).
    @Test func matchesAnIndependentHS256Implementation() throws {
        let token = try authority.sign(AccessClaims(
            identity: "alice", room: "r1", publish: true, subscribe: false, admin: false, expiresAt: 2_000_000_000))
        // python3: hmac.new(secret, header.payload, sha256), json.dumps(sort_keys=True, separators=(',', ':'))
        #expect(token == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhZG1pbiI6ZmFsc2UsImV4cCI6MjAwMDAwMDAwMCwicHVibGlzaCI6dHJ1ZSwicm9vbSI6InIxIiwic3ViIjoiYWxpY2UiLCJzdWJzY3JpYmUiOmZhbHNlfQ.nlI3qHWM-UWIUEyr1-36prqgsV3NnlNYNjpZDq6tFCU")
    }

    @Test func base64URLHasNoPaddingOrUnsafeCharacters() {
        #expect(TokenAuthority.base64URL([]) == "")
        #expect(TokenAuthority.base64URL([0xFB]) == "-w")
        #expect(TokenAuthority.base64URL([0xFB, 0xFF]) == "-_8")
        #expect(TokenAuthority.base64URL(Array("any carnal pleasure.".utf8)) == "YW55IGNhcm5hbCBwbGVhc3VyZS4")
    }

    /// Quotes, backslashes and control characters in claims survive signing and verifying.
    @Test func jsonStringsAreEscaped() throws {
        let room = "a\"b\\c\n\u{1}"
        let token = try authority.makeToken(identity: "x", room: room, publish: false, subscribe: true, admin: false, ttl: 60)
        #expect(try authority.verify(token).get().room == room)
    }
}
