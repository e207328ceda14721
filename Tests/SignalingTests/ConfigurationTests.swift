// `chorus serve`'s configuration rules: database URLs, when the development secret is used, the
// ICE-TCP port's default and the retransmission switch.

import SignalingTestSupport
import Testing
@testable import Signaling

@Suite struct ConfigurationTests {
    @Test func databaseURLs() {
        #expect(DatabaseURL(string: "sqlite:///var/lib/chorus.db") == .sqlite(path: "/var/lib/chorus.db"))
        #expect(DatabaseURL(string: "sqlite://./chorus.db") == .sqlite(path: "./chorus.db"))
        #expect(DatabaseURL(string: "postgres://u:p@127.0.0.1:5432/chorus") == .postgres(url: "postgres://u:p@127.0.0.1:5432/chorus"))
        #expect(DatabaseURL(string: "sqlite://") == nil)
        #expect(DatabaseURL(string: "mysql://x") == nil)
        #expect(DatabaseURL.postgres(url: "postgres://u:secret@h/db").description.contains("secret") == false)
    }

    @Test func secretPolicy() {
        var configuration = ChorusConfiguration()
        #expect(configuration.secretDecision == .development)
        configuration.host = "0.0.0.0"
        #expect(configuration.secretDecision == .refused)
        configuration.jwtSecret = "s"
        #expect(configuration.secretDecision == .configured("s"))
        #expect(configuration.effectiveAnnouncedIP == "127.0.0.1")
        configuration.announcedIP = "192.0.2.10"
        #expect(configuration.effectiveAnnouncedIP == "192.0.2.10")
    }

    @Test func iceTCPPortDefaultsToTheUDPPortsNumber() {
        var configuration = ChorusConfiguration()
        #expect(configuration.effectiveTCPPort == 40000)
        configuration.udpPort = 41000
        #expect(configuration.effectiveTCPPort == 41000)
        configuration.tcpPort = 443
        #expect(configuration.effectiveTCPPort == 443)
    }

    @Test func retransmissionIsOnByDefaultAndSwitchedByOnOrOff() {
        #expect(ChorusConfiguration().retransmission)
        #expect(ChorusConfiguration.retransmission(parsing: "on") == true)
        #expect(ChorusConfiguration.retransmission(parsing: "off") == false)
        #expect(ChorusConfiguration.retransmission(parsing: "OFF") == false)
        for wrong in ["", "yes", "0", "true", "of"] {
            #expect(ChorusConfiguration.retransmission(parsing: wrong) == nil, "\(wrong)")
        }
    }
}
