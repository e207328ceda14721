// Replies of a real Janus 1.1.2 (Debian) captured over its HTTP API on 127.0.0.1
// (json = "indented"), used as fixtures by the Janus tests.

enum JanusFixtures {

    static let create = #"""
        {
           "janus": "success",
           "transaction": "cr1",
           "data": {
              "id": 8937076931409813
           }
        }
        """#

    static let attach = #"""
        {
           "janus": "success",
           "session_id": 3896341549650072,
           "transaction": "att1",
           "data": {
              "id": 1769891440346218
           }
        }
        """#

    static let noSuchSession = #"""
        {
           "janus": "error",
           "session_id": 1234,
           "transaction": "ka1",
           "error": {
              "code": 458,
              "reason": "No such session 1234"
           }
        }
        """#

    static let keepaliveAck = #"""
        {
           "janus": "ack",
           "session_id": 3896341549650072,
           "transaction": "ka2"
        }
        """#

    static let roomCreated = #"""
        {
           "janus": "success",
           "session_id": 3896341549650072,
           "transaction": "mkroom1",
           "sender": 1759391739466512,
           "plugindata": {
              "plugin": "janus.plugin.videoroom",
              "data": {
                 "videoroom": "created",
                 "room": 1234567,
                 "permanent": false
              }
           }
        }
        """#

    static let roomExists = #"""
        {
           "janus": "success",
           "session_id": 3896341549650072,
           "transaction": "mkroom2",
           "sender": 1759391739466512,
           "plugindata": {
              "plugin": "janus.plugin.videoroom",
              "data": {
                 "videoroom": "event",
                 "error_code": 427,
                 "error": "Room 1234567 already exists"
              }
           }
        }
        """#

    static let publisherAck = #"""
        {
           "janus": "ack",
           "session_id": 3896341549650072,
           "transaction": "pubjoin1"
        }
        """#

    static let publisherJoined = #"""
        [
           {
              "janus": "event",
              "session_id": 3896341549650072,
              "transaction": "pubjoin1",
              "sender": 1759391739466512,
              "plugindata": {
                 "plugin": "janus.plugin.videoroom",
                 "data": {
                    "videoroom": "joined",
                    "room": 1234567,
                    "description": "lt-abc-0",
                    "id": 6831699017079664,
                    "private_id": 4091298133,
                    "publishers": [],
                    "audio_codec": "opus",
                    "video_codec": "vp8",
                    "streams": [
                       {
                          "type": "audio",
                          "mindex": 0,
                          "mid": "0",
                          "codec": "opus",
                          "fec": true
                       },
                       {
                          "type": "video",
                          "mindex": 1,
                          "mid": "1",
                          "codec": "vp8"
                       }
                    ]
                 }
              },
              "jsep": {
                 "type": "answer",
                 "sdp": "v=0\r\no=- 123456 2 IN IP4 127.0.0.1\r\ns=VideoRoom 1234567\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=ice-options:trickle\r\na=fingerprint:sha-256 05:5D:57:45:EA:50:3D:2F:11:A2:72:69:4B:02:34:EE:16:2F:EA:53:E3:69:EF:BA:26:40:55:9E:BD:78:32:5E\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS *\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=recvonly\r\na=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:6L9m\r\na=ice-pwd:srAjgEl3kR9Cqxj98ONTm1\r\na=ice-options:trickle\r\na=setup:passive\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=msid:janus janus0\r\na=ssrc:1022570051 cname:janus\r\na=candidate:1 1 udp 2015363583 127.0.0.1 40569 typ host\r\na=end-of-candidates\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 127.0.0.1\r\na=recvonly\r\na=mid:1\r\na=rtcp-mux\r\na=ice-ufrag:6L9m\r\na=ice-pwd:srAjgEl3kR9Cqxj98ONTm1\r\na=ice-options:trickle\r\na=setup:passive\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=msid:janus janus1\r\na=ssrc:2830430515 cname:janus\r\na=candidate:1 1 udp 2015363583 127.0.0.1 40569 typ host\r\na=end-of-candidates\r\n"
              }
           }
        ]
        """#

    static let subscriberAttached = #"""
        [
           {
              "janus": "event",
              "session_id": 4279799153985284,
              "transaction": "subjoin1",
              "sender": 5142494025720768,
              "plugindata": {
                 "plugin": "janus.plugin.videoroom",
                 "data": {
                    "videoroom": "attached",
                    "room": 1783010976526516,
                    "streams": [
                       {
                          "type": "audio",
                          "active": true,
                          "mindex": 0,
                          "mid": "0",
                          "ready": false,
                          "send": true,
                          "feed_id": 4187214361816616,
                          "feed_display": "lt-62rer0-r0-p0",
                          "feed_mid": "0",
                          "codec": "opus"
                       },
                       {
                          "type": "video",
                          "active": true,
                          "mindex": 1,
                          "mid": "1",
                          "ready": false,
                          "send": true,
                          "feed_id": 4187214361816616,
                          "feed_display": "lt-62rer0-r0-p0",
                          "feed_mid": "1",
                          "codec": "vp8"
                       }
                    ]
                 }
              },
              "jsep": {
                 "type": "offer",
                 "sdp": "v=0\r\no=- 1795628671680100 1 IN IP4 127.0.0.1\r\ns=VideoRoom 1783010976526516\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=ice-options:trickle\r\na=fingerprint:sha-256 1F:E0:0A:F9:71:A0:C4:6E:1B:D3:85:6C:52:8C:25:C9:0C:B1:73:A9:9C:63:BC:4D:87:F1:10:AC:C0:9E:68:5E\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS *\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=sendonly\r\na=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:NUCx\r\na=ice-pwd:Le+hHgwhcva/BlW+Q+nk0X\r\na=ice-options:trickle\r\na=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=fmtp:111 useinbandfec=1\r\na=msid:janus janus0\r\na=ssrc:2033032073 cname:janus\r\na=candidate:1 1 udp 2015363583 127.0.0.1 40200 typ host\r\na=end-of-candidates\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 127.0.0.1\r\na=sendonly\r\na=mid:1\r\na=rtcp-mux\r\na=ice-ufrag:NUCx\r\na=ice-pwd:Le+hHgwhcva/BlW+Q+nk0X\r\na=ice-options:trickle\r\na=setup:actpass\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\na=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=ssrc-group:FID 3613863594 2092210479\r\na=msid:janus janus1\r\na=ssrc:3613863594 cname:janus\r\na=ssrc:2092210479 cname:janus\r\na=candidate:1 1 udp 2015363583 127.0.0.1 40200 typ host\r\na=end-of-candidates\r\n"
              }
           }
        ]
        """#

    static let noSuchFeed = #"""
        [
           {
              "janus": "event",
              "session_id": 3896341549650072,
              "transaction": "subjoin2",
              "sender": 2685628545593374,
              "plugindata": {
                 "plugin": "janus.plugin.videoroom",
                 "data": {
                    "videoroom": "event",
                    "error_code": 428,
                    "error": "No such feed (1)"
                 }
              }
           }
        ]
        """#
}
