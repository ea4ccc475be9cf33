// The parts of a WebURL an HTTP client needs: the port (explicit, else 80 or
// 443) and the request target (path and query, "/" when absent; the fragment
// is never sent). Derived from the text WebURL.parse accepted, so they cannot
// disagree with what the admin wrote.

extension WebURL {
    /// The explicit port, or the scheme's default.
    public var port: UInt16 {
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let (_, port) = splitHostPort(authority), let port { return port }
        return isHTTPS ? 443 : 80
    }

    /// Origin-form request target: "/path?query", without the fragment.
    public var requestTarget: String {
        let rest = afterScheme.drop { $0 != "/" && $0 != "?" && $0 != "#" }
        let target = rest.prefix { $0 != "#" }
        if target.isEmpty { return "/" }
        return target.first == "?" ? "/" + target : String(target)
    }

    /// The value of a Host header: the host, with the port when one was written.
    public var hostHeader: String {
        afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }.lowercased()
    }

    private var afterScheme: Substring { text.dropFirst(isHTTPS ? 8 : 7) }
}
