// Which refused OAuth2 access tokens earn a refresh, per account. The token in use refused
// by an upstream earns one refresh and one more login; the token that forced refresh brings,
// refused too, is the account's login failure. A refusal of a token that was already replaced
// (a login that began before the refresh, answered after it) earns a login with the current
// token and marks nothing: marking it would make the next scheduled refresh count as forced,
// and a later refusal of that token a login failure without a refresh.

public struct OAuth2Refusals: Sendable, Equatable {
    /// Refused by an upstream: not to be handed out again until a refresh replaces it.
    public private(set) var rejected: String?
    /// Obtained by a refresh that a refusal forced.
    public private(set) var forced: String?

    public init() {}

    /// An upstream refused `token` while `current` is the account's token. True: log in again
    /// with the current token, refreshing first when `token` is the current one; false: the
    /// refusal is the account's login failure.
    public mutating func refused(_ token: String, current: String?) -> Bool {
        if let current, current != token { return true }
        if token == forced { return false }
        rejected = token
        return true
    }

    /// A token was obtained (by a refresh or from another node).
    public mutating func obtained(_ token: String) {
        if rejected != nil { forced = token }
        rejected = nil
    }

    /// The token may be handed out: no upstream refused it since it was obtained.
    public func usable(_ token: String) -> Bool { token != rejected }
}
