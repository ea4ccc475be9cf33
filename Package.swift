// swift-tools-version:6.1
// mailgate: a mail gateway on its own epoll loop, OpenSSL, libpq and Cyrus SASL.
// Layers, imports only downward: C modules -> pure modules (MailCore, Config,
// SMTPProtocol, IMAPProtocol, MIME, Bounce, RelayPolicy, HTTPProtocol) -> system layer (Reactor, TLS,
// Postgres, Auth) -> services -> the `mailgate` executable.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "mailgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mailgate", targets: ["mailgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C modules
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl"),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq"),
        .systemLibrary(name: "CSASL", pkgConfig: "libsasl2"),
        .target(name: "CLinux", linkerSettings: [.linkedLibrary("crypt")]),
        .target(name: "CSSLShim", dependencies: ["COpenSSL"]),

        // Pure modules: no sockets, no C
        .target(name: "MailCore", swiftSettings: strict),
        .target(name: "Config", dependencies: ["MailCore", "TOMLKit"], swiftSettings: strict),
        .target(name: "SMTPProtocol", dependencies: ["MailCore"], swiftSettings: strict),
        .target(name: "IMAPProtocol", dependencies: ["MailCore"], swiftSettings: strict),
        .target(name: "MIME", dependencies: ["MailCore"], swiftSettings: strict),
        .target(name: "Bounce", dependencies: ["MailCore", "MIME"], swiftSettings: strict),
        .target(name: "RelayPolicy", dependencies: ["MailCore"], swiftSettings: strict),
        .target(name: "Threading", dependencies: ["MailCore", "MIME"], swiftSettings: strict),
        .target(name: "HTTPProtocol", dependencies: ["MailCore"], swiftSettings: strict),

        // System layer
        .target(name: "Reactor", dependencies: ["CLinux", "MailCore", .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        .target(name: "TLS", dependencies: ["COpenSSL", "CSSLShim", "MailCore"], swiftSettings: strict),
        .target(name: "Auth", dependencies: ["CSASL", "CLinux", "COpenSSL", "Reactor"], swiftSettings: strict),
        .target(name: "Postgres", dependencies: ["CLibPQ", "Reactor", "MailCore", .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),

        // Services and wiring
        .target(name: "Mailgate",
                dependencies: ["MailCore", "Config", "SMTPProtocol", "IMAPProtocol", "MIME", "Bounce", "RelayPolicy", "Threading",
                               "Reactor", "TLS", "Postgres", "Auth", "HTTPProtocol",
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "Metrics", package: "swift-metrics"),
                               .product(name: "Prometheus", package: "swift-prometheus")],
                swiftSettings: strict),
        .executableTarget(name: "mailgate",
                          dependencies: ["Mailgate", "Auth", "Config", "Bounce", "Postgres", "Reactor", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: strict),

        // Tests
        .testTarget(name: "MailCoreTests", dependencies: ["MailCore"], swiftSettings: strict),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "MailCore"], swiftSettings: strict),
        .testTarget(name: "SMTPProtocolTests", dependencies: ["SMTPProtocol"], swiftSettings: strict),
        .testTarget(name: "IMAPProtocolTests", dependencies: ["IMAPProtocol"], swiftSettings: strict),
        .testTarget(name: "RelayPolicyTests", dependencies: ["RelayPolicy"], swiftSettings: strict),
        .testTarget(name: "ThreadingTests", dependencies: ["Threading", "MIME"], swiftSettings: strict),
        .testTarget(name: "HTTPProtocolTests", dependencies: ["HTTPProtocol"], swiftSettings: strict),
        .testTarget(name: "BounceTests", dependencies: ["MailCore", "MIME", "Bounce"], swiftSettings: strict),
        .target(name: "ReactorTesting", dependencies: ["Reactor"], path: "Tests/ReactorTesting", swiftSettings: strict),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "ReactorTesting", "CLinux"], swiftSettings: strict),
        .testTarget(name: "TLSTests", dependencies: ["TLS"], swiftSettings: strict),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "Reactor"], swiftSettings: strict),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "Reactor", "ReactorTesting"], swiftSettings: strict),
    ]
)
