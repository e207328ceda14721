// The application-service registration: what `chorus matrix-registration` writes reads back,
// the users namespace escapes the server name, and a file missing what Chorus needs is refused.

import Testing
@testable import Signaling

@Suite struct MatrixRegistrationTests {
    @Test func aGeneratedRegistrationReadsBack() throws {
        let registration = MatrixRegistration.generate(url: "http://127.0.0.1:8080", serverName: "matrix.example.org:8448")
        #expect(registration.asToken.count == 64 && registration.hsToken.count == 64 && registration.asToken != registration.hsToken)
        #expect(registration.usersRegex == #"@.*:matrix\.example\.org:8448"#)
        #expect(registration.yaml.contains("rate_limited: false\n"))
        #expect(registration.yaml.contains("    - exclusive: false\n      regex: '@.*:matrix\\.example\\.org:8448'\n"))
        #expect(try MatrixRegistration(yaml: registration.yaml) == registration)
    }

    @Test func handWrittenFilesAreReadToo() throws {
        let yaml = """
            id: chorus   # the service
            url: 'http://chorus:8080'
            as_token: "a\\"b"
            hs_token: hs
            sender_localpart: bot
            namespaces:
              users:
                - regex: "@.*:example\\\\.org"
                  exclusive: false
            """
        let registration = try MatrixRegistration(yaml: yaml)
        #expect(registration.id == "chorus" && registration.url == "http://chorus:8080" && registration.asToken == "a\"b")
        #expect(registration.serverName == "example.org" && registration.senderLocalpart == "bot")
        #expect(throws: MatrixRegistration.ParseError.self) { try MatrixRegistration(yaml: "id: x\nurl: y\n") }
    }
}
