// ICE credentials (RFC 8445 §5.3) and TURN REST credentials against an independent HMAC.
import Testing
@testable import ICE

@Suite struct CredentialsTests {
    @Test func randomICECredentials() {
        let allowed = Set(ICECredentials.iceChars)
        var seen = Set<String>()
        for _ in 0..<200 {
            let credentials = ICECredentials.random()
            #expect(credentials.ufrag.utf8.count == 8)
            #expect(credentials.pwd.utf8.count == 24)
            #expect(credentials.ufrag.utf8.allSatisfy(allowed.contains))
            #expect(credentials.pwd.utf8.allSatisfy(allowed.contains))
            seen.insert(credentials.ufrag)
        }
        #expect(seen.count == 200)  // 48 random bits: a repeat here means the generator is broken
        #expect(ICECredentials.iceChars.count == 64)
    }

    /// Expected value computed independently:
    /// python3 -c "import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
    ///   b'north-sea-secret', b'1700086400:alice', hashlib.sha1).digest()).decode())"
    /// → 3gVM92Fg4UOpM6yK0nfVfeZ5Ago=
    @Test func turnRESTCredentials() {
        let (username, credential) = TURNCredentials.make(
            secret: "north-sea-secret", user: "alice", ttl: 86400, nowUnixSeconds: 1_700_000_000)
        #expect(username == "1700086400:alice")
        #expect(credential == "3gVM92Fg4UOpM6yK0nfVfeZ5Ago=")
    }

    /// RFC 4648 §10 test vectors.
    @Test func base64() {
        let cases = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==",
                     "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (input, output) in cases {
            #expect(Base64.encode(Array(input.utf8)) == output)
        }
        #expect(Base64.encode([0xFB, 0xFF]) == "+/8=")
    }

    /// RFC 2202 test cases 2, 3, 6 and 7 for HMAC-SHA1 (6 and 7: keys longer than a block).
    @Test func hmacSHA1() {
        let mac = HMACSHA1.authenticate(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(mac == hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))
        #expect(HMACSHA1.authenticate(key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50))
            == hex("125d7342b9ac11cd91a39af48aa17b4f63f175d3"))
        let longKey = [UInt8](repeating: 0xaa, count: 80)
        #expect(HMACSHA1.authenticate(key: longKey, data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
            == hex("aa4ae5e15272d00e95705637ce8a3b55ed402112"))
        #expect(HMACSHA1.authenticate(key: longKey, data: Array("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data".utf8))
            == hex("e8e99d0f45237d786d6bbaa7965c7808bbff1a91"))
    }
}
