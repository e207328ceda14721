// The application-service registration both sides read (Matrix spec, Application Service API §
// "Registration"): `chorus matrix-registration` writes it, the homeserver loads it from
// `app_service_config_files`, and `chorus serve --matrix-registration` reads the same file for
// its tokens. Chorus reads back only the flat top-level keys it needs, so a small reader of
// YAML scalars does; a YAML library would be a dependency for five lines.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public struct MatrixRegistration: Sendable, Equatable {
    public var id: String
    /// Where the homeserver sends transactions: Chorus's own base URL.
    public var url: String
    /// Chorus's credential towards the homeserver.
    public var asToken: String
    /// The homeserver's credential towards Chorus (checked on every transaction).
    public var hsToken: String
    public var senderLocalpart: String
    /// The users Chorus may act as: every user of this server (non-exclusive).
    public var serverName: String

    public init(id: String = "chorus", url: String, asToken: String, hsToken: String, senderLocalpart: String = "chorus", serverName: String) {
        self.id = id
        self.url = url
        self.asToken = asToken
        self.hsToken = hsToken
        self.senderLocalpart = senderLocalpart
        self.serverName = serverName
    }

    /// A registration with fresh random tokens (256 bits each, from the system's CSPRNG).
    public static func generate(url: String, serverName: String, id: String = "chorus", senderLocalpart: String = "chorus") -> MatrixRegistration {
        MatrixRegistration(id: id, url: url, asToken: randomToken(), hsToken: randomToken(), senderLocalpart: senderLocalpart, serverName: serverName)
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<64).map { _ in digits[Int.random(in: 0..<16, using: &generator)] })
    }

    /// `@.*:<server name>` with the server name's regex metacharacters escaped (a server name
    /// has dots, and may have a port).
    public var usersRegex: String {
        "@.*:" + serverName.map { "\\.^$|?*+()[]{}".contains($0) ? "\\\($0)" : String($0) }.joined()
    }

    /// The YAML the homeserver loads. The users namespace is not exclusive: the users stay the
    /// homeserver's, and Chorus may send call events as them ("double puppeting"), which Synapse
    /// allows only for users in a namespace.
    public var yaml: String {
        """
        # Chorus as a Matrix application service (written by `chorus matrix-registration`).
        # Add this file to the homeserver's app_service_config_files, and pass the same file to
        # `chorus serve --matrix-registration`. The tokens are secrets.
        id: \(Self.quoted(id))
        url: \(Self.quoted(url))
        as_token: \(Self.quoted(asToken))
        hs_token: \(Self.quoted(hsToken))
        sender_localpart: \(Self.quoted(senderLocalpart))
        rate_limited: false
        namespaces:
          users:
            - exclusive: false
              regex: \(Self.singleQuoted(usersRegex))
          aliases: []
          rooms: []

        """
    }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Reads a registration file: the top-level scalars `id`, `url`, `as_token`, `hs_token`,
    /// `sender_localpart` (plain, 'single' or "double" quoted), and the server name from the first
    /// users regex of the form `@.*:<escaped name>`.
    public init(yaml text: String) throws(ParseError) {
        var values: [String: String] = [:]
        var regex: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("regex:") || trimmed.hasPrefix("- regex:") {
                let value = trimmed[trimmed.range(of: "regex:")!.upperBound...]
                if regex == nil { regex = Self.scalar(String(value)) }
                continue
            }
            guard !line.hasPrefix(" "), !line.hasPrefix("\t"), let colon = line.firstIndex(of: ":") else { continue }
            values[String(line[..<colon])] = Self.scalar(String(line[line.index(after: colon)...]))
        }
        func required(_ key: String) throws(ParseError) -> String {
            guard let value = values[key], !value.isEmpty else {
                throw ParseError(description: "the registration has no '\(key)'")
            }
            return value
        }
        id = try required("id")
        url = try required("url")
        asToken = try required("as_token")
        hsToken = try required("hs_token")
        senderLocalpart = try required("sender_localpart")
        guard let regex, regex.hasPrefix("@.*:") else {
            throw ParseError(description: "the registration has no users namespace of the form '@.*:<server name>'")
        }
        var name = ""
        var escaped = false
        for character in regex.dropFirst(4) {
            if character == "\\", !escaped {
                escaped = true
                continue
            }
            name.append(character)
            escaped = false
        }
        serverName = name
    }

    /// A YAML scalar's value: quotes removed (with their escapes), a trailing comment dropped.
    static func scalar(_ text: String) -> String {
        let value = text.trimmingCharacters(in: .whitespaces)
        if value.hasPrefix("'"), value.count >= 2, let end = value.dropFirst().lastIndex(of: "'") {
            return String(value[value.index(after: value.startIndex)..<end]).replacingOccurrences(of: "''", with: "'")
        }
        if value.hasPrefix("\""), value.count >= 2, let end = value.dropFirst().lastIndex(of: "\"") {
            var out = ""
            var escaped = false
            for character in value[value.index(after: value.startIndex)..<end] {
                if escaped {
                    out.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else {
                    out.append(character)
                }
            }
            return out
        }
        if let hash = value.range(of: " #") { return String(value[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces) }
        return value
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func singleQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
