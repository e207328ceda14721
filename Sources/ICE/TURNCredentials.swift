// Time-limited TURN credentials (draft-uberti-behave-turn-rest §2.2, coturn's
// use-auth-secret): the TURN server shares a secret with us and recomputes the password.

public enum TURNCredentials {
    /// username "expiry:user" where expiry = nowUnixSeconds + ttl (the TURN server refuses it
    /// afterwards); credential = base64(HMAC-SHA1(secret, username)).
    public static func make(secret: String, user: String, ttl: Int, nowUnixSeconds: Int) -> (username: String, credential: String) {
        let username = "\(nowUnixSeconds + ttl):\(user)"
        let mac = HMACSHA1.authenticate(key: Array(secret.utf8), data: Array(username.utf8))
        return (username, Base64.encode(mac))
    }
}
