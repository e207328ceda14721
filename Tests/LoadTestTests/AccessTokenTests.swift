// Tokens the load test mints must verify on Chorus: compared with one made by Python's hmac
// over the same claims (the construction Signaling's TokenAuthority verifies).

import Testing
@testable import LoadTest

@Suite struct AccessTokenTests {
    @Test func matchesAnIndependentHS256Implementation() {
        let token = AccessTokenMinter(secret: "chorus-dev-secret").token(
            identity: "alice", room: "r1", publish: true, subscribe: false, expiresAt: 2_000_000_000)
        // python3: hmac.new(secret, header.payload, sha256), json.dumps(sort_keys=True, separators=(',', ':'))
        #expect(token == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhZG1pbiI6ZmFsc2UsImV4cCI6MjAwMDAwMDAwMCwicHVibGlzaCI6dHJ1ZSwicm9vbSI6InIxIiwic3ViIjoiYWxpY2UiLCJzdWJzY3JpYmUiOmZhbHNlfQ.nlI3qHWM-UWIUEyr1-36prqgsV3NnlNYNjpZDq6tFCU")
    }

    @Test func base64URLHasNoPaddingOrUnsafeCharacters() {
        #expect(AccessTokenMinter.base64URL([]) == "")
        #expect(AccessTokenMinter.base64URL([0xFB]) == "-w")
        #expect(AccessTokenMinter.base64URL([0xFB, 0xFF]) == "-_8")
        #expect(AccessTokenMinter.base64URL(Array("any carnal pleasure.".utf8)) == "YW55IGNhcm5hbCBwbGVhc3VyZS4")
    }

    @Test func jsonStringsAreEscaped() {
        #expect(AccessTokenMinter.jsonString("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
    }
}
