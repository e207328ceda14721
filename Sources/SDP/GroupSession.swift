// A group-call participant's one RTCPeerConnection as Chorus negotiates it (sans-IO): the
// participant offers its own tracks, Chorus offers the others' tracks on m-lines it adds, and
// an offer collision resolves by perfect negotiation with Chorus as the impolite peer (it
// ignores a colliding offer; the browser rolls back and answers, then offers again).

package struct GroupSession {
    /// Chorus's side of the transport: the same ICE-lite credentials, fingerprint and candidate
    /// in every description of the session.
    package let local: LocalTransport
    package let sessionID: UInt64
    private(set) var sections: [GroupSection] = []
    /// Chorus's outstanding offer: the sections as offered, until the participant answers.
    private(set) var pendingOffer: [GroupSection]?
    /// The participant's ICE credentials from its first offer; a change is an ICE restart.
    private(set) var remoteICE: (ufrag: String, pwd: String)?
    private var version = 1
    private var forwardCount = 0

    /// Codecs a group call forwards, and no limit on sections per kind (one per track).
    package static let policy = CodecPolicy(maxAudioSections: 10_000, maxVideoSections: 10_000)

    package init(local: LocalTransport, sessionID: UInt64) {
        self.local = local
        self.sessionID = sessionID
    }

    package var hasPendingOffer: Bool { pendingOffer != nil }

    /// The id the participant gave the MID header extension; Chorus writes it into what it
    /// forwards (RFC 8843 §15) under the same id, so ids never collide within the BUNDLE.
    package var midExtensionID: UInt8? {
        for section in sections {
            if let ext = section.extensions.first(where: { $0.uri == HeaderExtension.sdesMID }) { return ext.id }
        }
        return nil
    }

    /// The participant's own sending sections, as the SFU's producers are made from them.
    package var publishedTracks: [(mid: String, kind: MediaKind, codec: NegotiatedCodec)] {
        sections.compactMap { section in
            guard section.role == .publishing, let kind = section.kind, let codec = section.codec else { return nil }
            return (section.mid, kind, codec)
        }
    }

    // MARK: - The participant offers

    package struct OfferChanges: Equatable {
        /// Sections that started sending: new producers.
        package var published: [NegotiatedMedia] = []
        /// Mids of sections that stopped sending: producers to remove.
        package var unpublished: [String] = []
        /// Mids of forwarding sections the participant rejected: consumers to stop.
        package var stoppedForwarding: [String] = []
    }

    package enum OfferOutcome: Equatable {
        /// Collided with Chorus's own outstanding offer and was ignored (Chorus is impolite).
        case ignored
        case answered(sdp: String, changes: OfferChanges)
    }

    package mutating func receiveOffer(_ text: String) throws(GroupSessionError) -> OfferOutcome {
        if pendingOffer != nil { return .ignored }
        let negotiated: NegotiatedOffer
        do {
            negotiated = try SDPNegotiator.negotiate(offer: text, policy: Self.policy, keepInactive: true)
        } catch {
            throw .badSDP("\(error)")
        }
        if let remoteICE, remoteICE.ufrag != negotiated.iceUfrag || remoteICE.pwd != negotiated.icePwd {
            throw .iceRestart
        }
        let offered = negotiated.offer.media
        guard offered.count >= sections.count else {
            throw .sectionsChanged("the offer has \(offered.count) m= sections, \(sections.count) were negotiated")
        }
        var accepted: [Int: NegotiatedMedia] = [:]
        for media in negotiated.media { accepted[media.index] = media }

        var next = sections
        var changes = OfferChanges()
        var directions: [String: MediaDirection] = [:]
        for (index, description) in offered.enumerated() {
            let media = accepted[index]
            if index < sections.count {
                var section = sections[index]
                // A closed section may be recycled by the offerer with a new mid (RFC 8829 §5.2.2).
                let recycled = section.isClosed && description.mid != nil && description.mid != section.mid
                guard recycled || description.mid == section.mid || description.mid == nil && section.isClosed else {
                    throw .sectionsChanged("m-line \(index) has mid \(description.mid ?? "none"), negotiated as \(section.mid)")
                }
                if recycled {
                    next[index] = Self.newSection(description, media: media, changes: &changes)
                    if let media { directions[media.mid] = media.offerDirection }
                    continue
                }
                guard let media else {
                    switch section.role {
                    case .publishing: changes.unpublished.append(section.mid)
                    case .forwarding: changes.stoppedForwarding.append(section.mid)
                    case .idle, .closed: break
                    }
                    section.role = .closed
                    next[index] = section
                    continue
                }
                directions[media.mid] = media.offerDirection
                switch section.role {
                case .forwarding, .closed:
                    break  // Chorus's own sections keep what Chorus put there.
                case .publishing, .idle:
                    let sends = media.offerDirection.sends
                    if sends && section.role == .idle { changes.published.append(media) }
                    if !sends && section.role == .publishing { changes.unpublished.append(section.mid) }
                    // A producer's layers are fixed when it is made: a re-offer keeps those of
                    // its RIDs it still sends (the answerer may drop RIDs, RFC 8853 §5.3), and
                    // a new RID waits for the track to be published again.
                    let rids = section.role == .publishing && sends
                        ? section.rids.filter((media.simulcast?.rids ?? []).contains) : Self.rids(of: media)
                    section.role = sends ? .publishing : .idle
                    section.codec = media.codec
                    section.rids = sends ? rids : []
                    section.extensions = Self.extensions(of: media, rids: section.rids)
                    section.rtcpReducedSize = media.rtcpReducedSize
                }
                next[index] = section
            } else {
                next.append(Self.newSection(description, media: media, changes: &changes))
                if let media { directions[media.mid] = media.offerDirection }
            }
        }
        sections = next
        remoteICE = (negotiated.iceUfrag, negotiated.icePwd)
        version += 1
        return .answered(sdp: render(sections, answering: directions), changes: changes)
    }

    private static func newSection(_ description: MediaDescription, media: NegotiatedMedia?, changes: inout OfferChanges) -> GroupSection {
        guard let media else {
            return GroupSection(
                mid: description.mid ?? "", kindText: description.kind, proto: description.proto,
                format: description.formats.first, codec: nil, extensions: [], rtcpReducedSize: false, role: .closed)
        }
        let sends = media.offerDirection.sends
        if sends { changes.published.append(media) }
        let rids = sends ? Self.rids(of: media) : []
        return GroupSection(
            mid: media.mid, kindText: media.kind.rawValue, proto: description.proto, format: description.formats.first,
            codec: media.codec, extensions: extensions(of: media, rids: rids), rtcpReducedSize: media.rtcpReducedSize,
            role: sends ? .publishing : .idle, rids: rids)
    }

    /// The RID layers the negotiator accepted on a sending section (empty: one stream, or
    /// `a=ssrc-group:SIM` simulcast, whose layers need no lines in Chorus's descriptions).
    private static func rids(of media: NegotiatedMedia) -> [String] {
        media.simulcast?.rids ?? []
    }

    /// The section's extensions; the RID ones only while RID layers are received (RFC 8852
    /// names a layer's SSRC, and a section without layers has none to name).
    private static func extensions(of media: NegotiatedMedia, rids: [String]) -> [HeaderExtension] {
        guard rids.isEmpty, media.simulcast?.rids.isEmpty == false else { return media.headerExtensions }
        return media.headerExtensions.filter { !SDPNegotiator.simulcastExtensions.contains($0.uri) }
    }

    // MARK: - Chorus offers

    package struct Offer: Equatable {
        package var sdp: String
        /// Mids whose forwarding stops now (their producer is gone).
        package var stopped: [String]
    }

    /// Chorus's offer that brings the forwarded tracks in line with `wanted`: new sections for
    /// new tracks, port 0 for tracks that are gone. Nil when nothing changes, before the
    /// participant's first offer, or while an offer is already out (call again after the answer).
    package mutating func makeOffer(wanted: [WantedTrack]) -> Offer? {
        guard pendingOffer == nil, !sections.isEmpty else { return nil }
        var next = sections
        var stopped: [String] = []
        let wantedIDs = Set(wanted.map(\.producerID))
        for index in next.indices {
            if let track = next[index].forwarded, !wantedIDs.contains(track.producerID) {
                next[index].role = .closed
                stopped.append(next[index].mid)
            }
        }
        let forwarded = Set(next.compactMap { $0.forwarded?.producerID })
        let midExtension = midExtensionID ?? Self.freeExtensionID(in: next)
        // The participant's own id for transport-wide sequence numbers, if its offer had one: the
        // packets Chorus sends it carry them for its transport-cc feedback.
        let transportSequence = next.lazy.flatMap(\.extensions).first { $0.uri == HeaderExtension.transportWideCC }
        for track in wanted where !forwarded.contains(track.producerID) {
            var codec = track.codec
            codec.payloadType = Self.payloadType(for: codec, in: next)
            // Video gets RTX (RFC 4588): what the participant misses is resent on its own stream.
            codec.rtxPayloadType = track.kind == .video ? Self.rtxPayloadType(for: codec, in: next) : nil
            codec.feedback = codec.feedback.filter { $0 != "transport-cc" || transportSequence != nil }
            let stream = OutgoingStream(
                ssrc: UInt32.random(in: 1...UInt32.max), cname: "chorus-\(track.streamID)", streamID: track.streamID,
                trackID: track.producerID, rtxSSRC: codec.rtxPayloadType == nil ? nil : UInt32.random(in: 1...UInt32.max))
            var extensions = midExtension.map { [HeaderExtension(id: $0, uri: HeaderExtension.sdesMID)] } ?? []
            if let transportSequence { extensions.append(transportSequence) }
            next.append(GroupSection(
                mid: nextForwardMid(avoiding: next), kindText: track.kind.rawValue, proto: "UDP/TLS/RTP/SAVPF",
                format: "\(codec.payloadType)", codec: codec, extensions: extensions, rtcpReducedSize: true,
                role: .forwarding(ForwardedTrack(producerID: track.producerID, userID: track.userID, stream: stream))))
        }
        guard next != sections else { return nil }
        pendingOffer = next
        version += 1
        return Offer(sdp: render(next, answering: nil), stopped: stopped)
    }

    /// Forwarding sections the participant accepted: their consumers start now.
    package struct Started: Equatable {
        package var mid: String
        package var track: ForwardedTrack
        package var kind: MediaKind
        package var payloadType: UInt8
        package var midExtensionID: UInt8?
        /// The RTX payload type, when the participant's answer kept RTX for this section.
        package var rtxPayloadType: UInt8?
        package var transportSequenceExtensionID: UInt8?
    }

    package mutating func receiveAnswer(_ text: String) throws(GroupSessionError) -> (started: [Started], rejected: [String]) {
        guard var offered = pendingOffer else { throw .noOfferPending }
        let negotiated: NegotiatedOffer
        do {
            negotiated = try SDPNegotiator.negotiate(offer: text, policy: Self.policy, keepInactive: true)
        } catch .noUsableMedia {
            negotiated = NegotiatedOffer(
                offer: (try? SessionDescription(parsing: text)) ?? SessionDescription(origin: SDPOrigin(sessionID: "0", sessionVersion: "0")),
                iceUfrag: "", icePwd: "", fingerprints: [], setup: "active", media: [], rejectedIndexes: [])
        } catch {
            throw .badSDP("\(error)")
        }
        guard negotiated.offer.media.count == offered.count else {
            throw .sectionsChanged("the answer has \(negotiated.offer.media.count) m= sections, the offer had \(offered.count)")
        }
        let acceptedIndexes = Set(negotiated.media.map(\.index))
        let answered = Dictionary(negotiated.media.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        let before = Set(sections.compactMap { $0.forwarded?.producerID })
        var started: [Started] = []
        var rejected: [String] = []
        for index in offered.indices {
            guard let track = offered[index].forwarded, let kind = offered[index].kind, let codec = offered[index].codec else { continue }
            if !acceptedIndexes.contains(index) {
                offered[index].role = .closed
                rejected.append(offered[index].mid)
            } else if !before.contains(track.producerID) {
                let answer = answered[index]
                // RTX stays only if the answer kept it (RFC 3264 §6.1: the answerer may drop it).
                if answer?.codec.rtxPayloadType == nil { offered[index].codec?.rtxPayloadType = nil }
                started.append(Started(
                    mid: offered[index].mid, track: track, kind: kind, payloadType: codec.payloadType,
                    midExtensionID: offered[index].extensions.first { $0.uri == HeaderExtension.sdesMID }?.id,
                    rtxPayloadType: answer?.codec.rtxPayloadType == nil ? nil : codec.rtxPayloadType,
                    transportSequenceExtensionID: answer?.headerExtensionID(HeaderExtension.transportWideCC)))
            }
        }
        sections = offered
        pendingOffer = nil
        return (started, rejected)
    }

    // MARK: - Rendering

    /// Text of an offer (`answering` nil) or of an answer to an offer with these directions.
    private func render(_ sections: [GroupSection], answering directions: [String: MediaDirection]?) -> String {
        var description = SessionDescription(
            origin: SDPOrigin(sessionID: "\(sessionID)", sessionVersion: "\(version)"),
            attributes: [SDPAttribute(name: "ice-lite")])
        var bundle: [String] = []
        for section in sections {
            guard !section.isClosed, let kind = section.kind, let codec = section.codec else {
                var disabled = SDPNegotiator.disabledSection(
                    kind: section.kindText, proto: section.proto,
                    format: section.codec.map { "\($0.payloadType)" } ?? section.format, mid: section.mid.isEmpty ? nil : section.mid)
                if let codec = section.codec {
                    // Not required (RFC 3264 §8.2), but aiortc refuses a disabled section without
                    // ICE credentials or its payload type's rtpmap; browsers ignore them.
                    disabled.attributes += [
                        SDPAttribute(name: "ice-ufrag", value: local.iceUfrag),
                        SDPAttribute(name: "ice-pwd", value: local.icePwd),
                        SDPAttribute(name: "fingerprint", value: "sha-256 " + local.fingerprintSHA256),
                        SDPAttribute(name: "setup", value: directions == nil ? "actpass" : "passive"),
                        SDPAttribute(name: "inactive"),
                        SDPAttribute(name: "rtcp-mux"),
                        SDPAttribute(name: "rtpmap", value: Self.rtpmap(codec)),
                    ]
                }
                description.media.append(disabled)
                continue
            }
            bundle.append(section.mid)
            let direction = Self.direction(of: section.role, offered: directions.map { $0[section.mid] ?? .inactive })
            var media = SDPNegotiator.mediaSection(
                kind: kind, proto: section.proto, mid: section.mid, codec: codec, extensions: section.extensions,
                rtcpReducedSize: section.rtcpReducedSize, local: local, setup: directions == nil ? "actpass" : "passive",
                direction: direction, stream: direction.sends ? section.forwarded?.stream : nil)
            // In Chorus's own offers too: Chromium, answering an offer without `a=simulcast`
            // on its sending m-line, stops all but its first encoding.
            if section.role == .publishing && direction.receives { SDPNegotiator.addSimulcastReceive(section.rids, to: &media) }
            description.media.append(media)
        }
        if !bundle.isEmpty {
            description.attributes.append(SDPAttribute(name: "group", value: (["BUNDLE"] + bundle).joined(separator: " ")))
        }
        description.attributes.append(SDPAttribute(name: "msid-semantic", value: "WMS *"))
        return description.render()
    }

    /// What Chorus says on a section: in an offer its intent; in an answer that intent narrowed
    /// by what the offer allows (RFC 3264 §6.1).
    package static func direction(of role: GroupSection.Role, offered: MediaDirection?) -> MediaDirection {
        let intent: MediaDirection
        switch role {
        case .publishing: intent = .recvonly
        case .forwarding: intent = .sendonly
        case .idle, .closed: intent = .inactive
        }
        guard let offered else { return intent }
        let sends = intent.sends && offered.receives
        let receives = intent.receives && offered.sends
        switch (sends, receives) {
        case (true, true): return .sendrecv
        case (true, false): return .sendonly
        case (false, true): return .recvonly
        case (false, false): return .inactive
        }
    }

    /// The session's payload type for `codec`: the one it already maps the same codec to, else
    /// the sender's if free, else a free dynamic one. A BUNDLE group must not map one payload
    /// type to two codecs (RFC 8843 §9.1.2).
    package static func payloadType(for codec: NegotiatedCodec, in sections: [GroupSection]) -> UInt8 {
        for section in sections {
            guard let existing = section.codec, !section.isClosed else { continue }
            if existing.name.lowercased() == codec.name.lowercased(), existing.clockRate == codec.clockRate,
                existing.channels == codec.channels, (existing.fmtp ?? "") == (codec.fmtp ?? "")
            {
                return existing.payloadType
            }
        }
        let used = usedPayloadTypes(in: sections)
        if !used.contains(codec.payloadType) { return codec.payloadType }
        return (96...127).first { !used.contains($0) } ?? codec.payloadType
    }

    /// The RTX payload type for `codec` (already numbered for this session): the one a section
    /// with the same codec uses, else a free dynamic one.
    package static func rtxPayloadType(for codec: NegotiatedCodec, in sections: [GroupSection]) -> UInt8? {
        for section in sections where !section.isClosed {
            if let existing = section.codec, existing.payloadType == codec.payloadType, let rtx = existing.rtxPayloadType {
                return rtx
            }
        }
        var used = usedPayloadTypes(in: sections)
        used.insert(codec.payloadType)
        return (96...127).first { !used.contains($0) }
    }

    /// Every payload type the open sections use, codecs and their RTX alike.
    private static func usedPayloadTypes(in sections: [GroupSection]) -> Set<UInt8> {
        var used: Set<UInt8> = []
        for section in sections where !section.isClosed {
            if let codec = section.codec {
                used.insert(codec.payloadType)
                if let rtx = codec.rtxPayloadType { used.insert(rtx) }
            }
        }
        return used
    }

    package static func rtpmap(_ codec: NegotiatedCodec) -> String {
        var value = "\(codec.payloadType) \(codec.name)/\(codec.clockRate)"
        if let channels = codec.channels { value += "/\(channels)" }
        return value
    }

    /// A one-byte header extension id (RFC 8285 §4.2) no section uses.
    package static func freeExtensionID(in sections: [GroupSection]) -> UInt8? {
        let used = Set(sections.flatMap { $0.extensions.map(\.id) })
        return (1...14).first { !used.contains($0) }
    }

    private mutating func nextForwardMid(avoiding sections: [GroupSection]) -> String {
        let used = Set(sections.map(\.mid))
        while true {
            forwardCount += 1
            let mid = "f\(forwardCount)"
            if !used.contains(mid) { return mid }
        }
    }
}
