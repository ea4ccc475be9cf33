// SMTP replies: a code, an optional RFC 3463 enhanced status code and text lines, rendered as
// CRLF lines (multi-line with "-"). Every 2xx/4xx/5xx reply we send carries an enhanced code
// (RFC 2034) except the greeting and the HELO/EHLO replies, which RFC 2034 §3 exempts;
// 334 and 354 are intermediate replies and have none.

import MailCore
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var enhanced: String?
    public var lines: [String]

    public init(_ code: Int, _ enhanced: String?, _ text: String) {
        self.code = code
        self.enhanced = enhanced
        self.lines = [text]
    }

    public init(code: Int, enhanced: String?, lines: [String]) {
        self.code = code
        self.enhanced = enhanced
        self.lines = lines.isEmpty ? [""] : lines
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for (position, line) in lines.enumerated() {
            out.append(contentsOf: String(code).utf8)
            out.append(position == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhanced {
                out.append(contentsOf: enhanced.utf8)
                out.append(UInt8(ascii: " "))
            }
            out.append(contentsOf: line.utf8)
            out.append(contentsOf: [13, 10])
        }
        return out
    }

    /// The rendered text without line ends (the lines of a multi-line reply joined by a space), for logs.
    public var description: String {
        String(decoding: bytes, as: UTF8.self).split(separator: "\r\n" as Character).joined(separator: " ")
    }
}

/// The replies the session sends, named by situation.
extension SMTPReply {
    static let ok = SMTPReply(250, "2.0.0", "Ok")
    static let senderOk = SMTPReply(250, "2.1.0", "Ok")
    static let recipientOk = SMTPReply(250, "2.1.5", "Ok")
    static let startData = SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>")
    static let bye = SMTPReply(221, "2.0.0", "Bye")
    static let readyForTLS = SMTPReply(220, "2.0.0", "Ready to start TLS")
    static let vrfy = SMTPReply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")
    static let help = SMTPReply(214, "2.0.0", "See RFC 5321, RFC 6409; commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP")
    static let authSucceeded = SMTPReply(235, "2.7.0", "Authentication successful")

    static let unknownCommand = SMTPReply(500, "5.5.2", "Error: command not recognized")
    static let lineTooLong = SMTPReply(500, "5.5.2", "Error: line too long")
    static let notImplemented = SMTPReply(502, "5.5.1", "Error: command not implemented")
    static let nulInCommand = SMTPReply(501, "5.5.2", "Error: NUL or bare CR in command")
    static let sendHeloFirst = SMTPReply(503, "5.5.1", "Error: send HELO/EHLO first")
    static let sendEhloFirst = SMTPReply(503, "5.5.1", "Error: send EHLO first (extension not available after HELO)")
    static let nestedMail = SMTPReply(503, "5.5.1", "Error: nested MAIL command")
    static let needMail = SMTPReply(503, "5.5.1", "Error: need MAIL command")
    static let noValidRecipients = SMTPReply(554, "5.5.1", "Error: no valid recipients")
    static let mixedDataAndBDAT = SMTPReply(503, "5.5.1", "Error: DATA and BDAT cannot be mixed in one transaction")
    static let alreadyTLS = SMTPReply(503, "5.5.1", "Error: TLS already active")
    static let tlsNotAvailable = SMTPReply(454, "4.7.0", "TLS not available")
    static let inTransaction = SMTPReply(503, "5.5.1", "Error: not allowed during a mail transaction")
    static let alreadyAuthenticated = SMTPReply(503, "5.5.1", "Error: already authenticated")

    static let mustStartTLS = SMTPReply(530, "5.7.0", "Must issue a STARTTLS command first")
    static let authRequired = SMTPReply(530, "5.7.0", "Authentication required")
    static let authNeedsTLS = SMTPReply(538, "5.7.11", "Encryption required for requested authentication mechanism")
    static let authUnknownMechanism = SMTPReply(504, "5.5.4", "Unrecognized authentication type")
    static let authBadBase64 = SMTPReply(501, "5.5.2", "Cannot decode base64 response")
    static let authCancelled = SMTPReply(501, "5.7.0", "Authentication cancelled")
    static let authFailed = SMTPReply(535, "5.7.8", "Authentication credentials invalid")
    static let authTemporaryFailure = SMTPReply(454, "4.7.0", "Temporary authentication failure")
    static let authLineTooLong = SMTPReply(500, "5.5.6", "Authentication exchange line is too long")

    static let nullSenderRefused = SMTPReply(553, "5.7.1", "Null sender <> is not accepted for submission")
    static let senderNotOwned = SMTPReply(553, "5.7.1", "Sender address rejected: not owned by user")
    static let fromNotOwned = SMTPReply(553, "5.7.1", "From: header address rejected: not owned by user")
    static let needsSMTPUTF8 = SMTPReply(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter")
    static let badSenderSyntax = SMTPReply(501, "5.1.7", "Bad sender address syntax")
    static let badRecipientSyntax = SMTPReply(501, "5.1.3", "Bad recipient address syntax")
    static let addressTooLong = SMTPReply(501, "5.1.3", "Address too long")
    static let mailSyntax = SMTPReply(501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]")
    static let rcptSyntax = SMTPReply(501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]")
    static let unsupportedParameter = SMTPReply(555, "5.5.4", "Unsupported MAIL/RCPT parameter")
    static let badParameter = SMTPReply(501, "5.5.4", "Bad MAIL/RCPT parameter value")
    static let futureReleaseTooFar = SMTPReply(501, "5.5.4", "HOLDFOR/HOLDUNTIL beyond the maximum release interval")
    static let tooManyRecipients = SMTPReply(452, "4.5.3", "Too many recipients")
    static let messageTooBig = SMTPReply(552, "5.3.4", "Message size exceeds fixed limit")
    static let noArguments = SMTPReply(501, "5.5.4", "Syntax: no arguments allowed")
    static let heloSyntax = SMTPReply(501, "5.5.4", "Syntax: HELO/EHLO hostname")
    static let vrfySyntax = SMTPReply(501, "5.5.4", "Syntax: VRFY address")
    static let authSyntax = SMTPReply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]")

    static let bareLineEnd = SMTPReply(550, "5.6.0", "Message refused: bare <CR> or <LF> not allowed, lines must end with <CR><LF>")
    static let textLineTooLong = SMTPReply(550, "5.6.0", "Message refused: line longer than 998 octets")
    static let noFromHeader = SMTPReply(550, "5.6.0", "Message refused: exactly one parseable From: header required")
    static let commitFailed = SMTPReply(451, "4.3.0", "Error: queue file write error, try again later")
    static let authNotOffered = SMTPReply(503, "5.5.1", "Error: authentication not enabled")
    static let relayDenied = SMTPReply(550, "5.7.1", "Error: relay access denied")

    static let badBDATSize = SMTPReply(421, "4.5.4", "Error: invalid BDAT chunk size, closing connection")
    static let tooManyErrors = SMTPReply(421, "4.7.0", "Error: too many errors, closing connection")
    static let forbiddenCommand = SMTPReply(421, "4.7.0", "Error: this is an SMTP server, closing connection")
    static let idleTimeout = SMTPReply(421, "4.4.2", "Error: timeout exceeded, closing connection")
    static let pendingInputOverflow = SMTPReply(421, "4.7.0", "Error: too much pipelined input, closing connection")

    static func bdatChunkOk(_ size: Int) -> SMTPReply { SMTPReply(250, "2.0.0", "Ok: \(size) octets received") }
    static func queued(_ queueID: String) -> SMTPReply { SMTPReply(250, "2.0.0", "Ok: queued as \(queueID)") }
    static func authChallenge(_ challenge: [UInt8]) -> SMTPReply {
        SMTPReply(334, nil, String(decoding: Base64.encode(challenge), as: UTF8.self))
    }
}
