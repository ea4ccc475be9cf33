// Capability lists: what mailgate advertises before login, and which of the
// upstream's capabilities the client may see once the session is relayed.
// Contract: names compare case-insensitively and keep the upstream's spelling;
// the filter drops what the byte relay cannot honour (see droppedByProxy).

public enum IMAPCapabilities {
    /// Before login on the STARTTLS port, before TLS: LOGIN/AUTHENTICATE are off.
    /// `literal` is "LITERAL-" or "LITERAL+" (see preLogin(tlsActive:limits:)).
    public static func preLogin(tlsActive: Bool, limits: IMAPCommandLimits = .preLogin) -> [String] {
        let literal = limits.maxNonSynchronizingLiteralSize >= limits.maxLiteralSize ? "LITERAL+" : "LITERAL-"
        if tlsActive {
            return ["IMAP4rev1", "SASL-IR", "ID", literal, "AUTH=PLAIN"]
        }
        return ["IMAP4rev1", "STARTTLS", "LOGINDISABLED", "ID", literal]
    }

    /// The upstream's capabilities the client sees after login, in the
    /// upstream's order, duplicates removed.
    public static func clientVisible(_ upstream: [String]) -> [String] {
        var seen: Set<String> = []
        var kept: [String] = []
        // Only atoms: anything else could break out of the [CAPABILITY ...] code.
        for capability in upstream where !capability.isEmpty && capability.utf8.allSatisfy(IMAPGrammar.isStrictAtomChar) {
            let upper = capability.uppercased()
            guard !droppedByProxy(upper), seen.insert(upper).inserted else { continue }
            kept.append(capability)
        }
        return kept
    }

    /// True for an (upper-cased) capability the proxy cannot pass through:
    /// - STARTTLS, LOGINDISABLED, AUTH=*, SASL-IR: the session is already
    ///   authenticated and its TLS belongs to mailgate, not the upstream;
    /// - COMPRESS=*: the relay would have to inflate to stay in the protocol;
    /// - LOGIN-REFERRALS, MAILBOX-REFERRALS, URLAUTH*: they name the upstream
    ///   server, which the client must not reach directly;
    /// - UNAUTHENTICATE: it would hand the client the upstream's login state.
    static func droppedByProxy(_ upper: String) -> Bool {
        switch upper {
        case "STARTTLS", "LOGINDISABLED", "SASL-IR", "LOGIN-REFERRALS", "MAILBOX-REFERRALS", "UNAUTHENTICATE":
            return true
        default:
            return upper.hasPrefix("AUTH=") || upper.hasPrefix("COMPRESS=") || upper == "URLAUTH"
                || upper.hasPrefix("URLAUTH=")
        }
    }

    /// True when `list` holds `name` (ASCII case-insensitive).
    public static func contains(_ list: [String], _ name: String) -> Bool {
        let upper = name.uppercased()
        return list.contains { $0.uppercased() == upper }
    }
}
