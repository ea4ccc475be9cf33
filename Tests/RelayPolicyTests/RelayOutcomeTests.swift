// Upstream replies from real providers (Gmail, Outlook/Office 365, Yahoo, Amazon SES, Postfix,
// Exim, cPanel) judged as sent / retry / permanent failure / account problem, plus transport
// failures per phase, enhanced status parsing, and replies that must not look account-level.
import RelayPolicy
import Testing

@Suite struct RelayOutcomeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var source: String
        var phase: RelayPhase
        var code: Int
        var text: String
        var outcome: RelayOutcome
        var testDescription: String { "\(source): \(code) \(text.prefix(60))" }
    }

    static let cases: [Case] = [
        // Gmail / Google Workspace (smtp.gmail.com)
        Case(source: "Gmail", phase: .endOfData, code: 250, text: "2.0.0 OK  1700000000 a1-20020a170902b4c100b001b8a3b1c2d3si12345pll.2 - gsmtp",
             outcome: .sent),
        Case(source: "Gmail", phase: .auth, code: 535,
             text: "5.7.8 Username and Password not accepted. For more information, go to\n5.7.8  https://support.google.com/mail/?p=BadCredentials a1-20020a17090 - gsmtp",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Gmail", phase: .auth, code: 534,
             text: "5.7.9 Application-specific password required. For more information, go to\n5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor - gsmtp",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Gmail", phase: .auth, code: 534,
             text: "5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbt>\n5.7.14 Please log in via your web browser and then try again.",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Gmail", phase: .auth, code: 454, text: "4.7.0 Too many login attempts, please try again later. - gsmtp",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Gmail", phase: .mailFrom, code: 530, text: "5.7.0 Authentication Required. For more information, go to\n5.7.0  https://support.google.com/mail/?p=WantAuthError - gsmtp",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Gmail", phase: .endOfData, code: 550,
             text: "5.4.5 Daily user sending limit exceeded. For more information on Gmail's\n5.4.5 sending limits go to\n5.4.5  https://support.google.com/a/answer/166852 - gsmtp",
             outcome: .accountProblem(.quotaExhausted)),
        Case(source: "Google Workspace", phase: .rcptTo, code: 550, text: "5.4.5 Daily sending quota exceeded. - gsmtp",
             outcome: .accountProblem(.quotaExhausted)),
        Case(source: "Gmail", phase: .greeting, code: 421, text: "4.7.0 Try again later, closing connection. (EHLO) - gsmtp",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Gmail", phase: .rcptTo, code: 421,
             text: "4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your SPF domain. To protect our users from spam, mail sent from your domain has been temporarily rate limited.",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Gmail", phase: .endOfData, code: 421, text: "4.7.0 Try again later, closing connection. (DATA) - gsmtp",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Gmail", phase: .rcptTo, code: 550,
             text: "5.1.1 The email account that you tried to reach does not exist. Please try\n5.1.1 double-checking the recipient's email address for typos or\n5.1.1 unnecessary spaces. - gsmtp",
             outcome: .failPermanently),
        Case(source: "Gmail", phase: .rcptTo, code: 452,
             text: "4.2.2 The email account that you tried to reach is over quota. Please direct\n4.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp",
             outcome: .retryMessage),
        Case(source: "Gmail", phase: .rcptTo, code: 450,
             text: "4.2.1 The user you are trying to contact is receiving mail at a rate that\n4.2.1 prevents additional messages from being delivered. - gsmtp",
             outcome: .retryMessage),
        Case(source: "Gmail", phase: .endOfData, code: 552,
             text: "5.2.3 Your message exceeded Google's message size limits. Please visit\n5.2.3  https://support.google.com/mail/?p=MaxSizeError to view our size guidelines. - gsmtp",
             outcome: .failPermanently),
        Case(source: "Gmail", phase: .endOfData, code: 550,
             text: "5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.",
             outcome: .failPermanently),
        Case(source: "Gmail", phase: .endOfData, code: 451, text: "4.3.0 Mail server temporarily rejected message. - gsmtp",
             outcome: .retryMessage),
        Case(source: "Gmail", phase: .endOfData, code: 550,
             text: "5.7.1 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been blocked.",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),

        // Outlook.com / Office 365 (smtp.office365.com)
        Case(source: "Office 365", phase: .auth, code: 535,
             text: "5.7.3 Authentication unsuccessful [SN4PR0601CA0012.namprd06.prod.outlook.com 2024-01-01T00:00:00.000Z 08DC0A1B2C3D4E5F]",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Office 365", phase: .auth, code: 535,
             text: "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Office 365", phase: .auth, code: 535,
             text: "5.7.139 Authentication unsuccessful, basic authentication is disabled.",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Office 365", phase: .mailFrom, code: 530,
             text: "5.7.57 Client not authenticated to send mail. [AM0PR02CA0001.eurprd02.prod.outlook.com]",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Office 365", phase: .endOfData, code: 554,
             text: "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message Cannot submit message.",
             outcome: .accountProblem(.quotaExhausted)),
        Case(source: "Outlook.com", phase: .endOfData, code: 554,
             text: "5.2.0 STOREDRV.Submission.Exception:OutboundSpamException; WASCL UserAction verdict is not None. Actual verdict is RefuseQuota, ShowTierUpgrade.",
             outcome: .accountProblem(.quotaExhausted)),
        Case(source: "Outlook.com", phase: .endOfData, code: 554,
             text: "5.2.0 STOREDRV.Submission.Exception:OutboundSpamException; WASCL UserAction verdict is not None. Actual verdict is Suspend, ShowTierUpgrade.",
             outcome: .accountProblem(.suspended)),
        Case(source: "Office 365", phase: .endOfData, code: 550, text: "5.7.511 Access denied, banned sender[192.0.2.10]. To request removal from this list please forward this message to delist@messaging.microsoft.com.",
             outcome: .accountProblem(.suspended)),
        Case(source: "Office 365", phase: .endOfData, code: 432, text: "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Office 365", phase: .rcptTo, code: 451, text: "4.7.500 Server busy. Please try again later from [192.0.2.10]. (S77719) [AM0PR02.eurprd02.prod.protection.outlook.com]",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Office 365", phase: .endOfData, code: 554,
             text: "5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message.",
             outcome: .failPermanently),
        Case(source: "Office 365", phase: .rcptTo, code: 550,
             text: "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
             outcome: .failPermanently),
        Case(source: "Office 365", phase: .greeting, code: 421, text: "4.3.2 Service not available",
             outcome: .accountProblem(.unreachable)),

        // Yahoo (smtp.mail.yahoo.com)
        Case(source: "Yahoo", phase: .auth, code: 535, text: "5.7.0 (#AUTH005) Too many bad auth attempts.",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Yahoo", phase: .rcptTo, code: 421,
             text: "4.7.0 [TSS04] Messages from 192.0.2.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Yahoo", phase: .greeting, code: 553,
             text: "5.7.1 [BL21] Connections will not be accepted from 192.0.2.10, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
             outcome: .accountProblem(.unreachable)),
        Case(source: "Yahoo", phase: .endOfData, code: 554,
             text: "5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes",
             outcome: .failPermanently),
        Case(source: "Yahoo", phase: .rcptTo, code: 554,
             text: "delivery error: dd This user doesn't have a yahoo.com account (nobody@yahoo.com) [0] - mta1234.mail.gq1.yahoo.com",
             outcome: .failPermanently),

        // Amazon SES (email-smtp.<region>.amazonaws.com)
        Case(source: "SES", phase: .auth, code: 535, text: "Authentication Credentials Invalid",
             outcome: .accountProblem(.authFailed)),
        Case(source: "SES", phase: .endOfData, code: 454, text: "Throttling failure: Maximum sending rate exceeded.",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "SES", phase: .endOfData, code: 454, text: "Throttling failure: Daily message quota exceeded.",
             outcome: .accountProblem(.quotaExhausted)),
        Case(source: "SES", phase: .endOfData, code: 554,
             text: "Message rejected: Sending suspended for this account. For more information, please check the inbox of the email address associated with your AWS account.",
             outcome: .accountProblem(.suspended)),
        Case(source: "SES", phase: .endOfData, code: 554,
             text: "Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: sales@example.test",
             outcome: .failPermanently),
        Case(source: "SES", phase: .endOfData, code: 554, text: "Transaction failed: Duplicate header 'Subject'.",
             outcome: .failPermanently),
        Case(source: "SES", phase: .mailFrom, code: 530, text: "Authentication required", outcome: .accountProblem(.authFailed)),
        Case(source: "SES", phase: .endOfData, code: 451, text: "4.4.2 Timeout waiting for data from client.",
             outcome: .retryMessage),

        // Postfix
        Case(source: "Postfix", phase: .auth, code: 535, text: "5.7.8 Error: authentication failed: authentication failure",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Postfix", phase: .auth, code: 535, text: "5.7.8 Error: authentication failed: UGFzc3dvcmQ6",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Postfix", phase: .auth, code: 454, text: "4.7.0 Temporary authentication failure: generic failure",
             outcome: .accountProblem(.unreachable)),
        Case(source: "Postfix", phase: .rcptTo, code: 554, text: "5.7.1 <someone@example.org>: Relay access denied",
             outcome: .accountProblem(.authFailed)),
        Case(source: "Postfix", phase: .rcptTo, code: 550,
             text: "5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table",
             outcome: .failPermanently),
        Case(source: "Postfix", phase: .rcptTo, code: 450,
             text: "4.2.0 <someone@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html",
             outcome: .retryMessage),
        Case(source: "Postfix", phase: .mailFrom, code: 452, text: "4.3.1 Insufficient system storage", outcome: .retryMessage),
        Case(source: "Postfix", phase: .endOfData, code: 552, text: "5.3.4 Message size exceeds fixed limit", outcome: .failPermanently),
        Case(source: "Postfix", phase: .greeting, code: 421, text: "4.7.0 mail.example.test Error: too many connections from 192.0.2.10",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Postfix", phase: .mailFrom, code: 450, text: "4.7.1 Error: too much mail from 192.0.2.10",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Postfix", phase: .mailFrom, code: 553,
             text: "5.7.1 <boss@example.test>: Sender address rejected: not owned by user sales@example.test",
             outcome: .failPermanently),
        Case(source: "Postfix", phase: .rcptTo, code: 452, text: "4.5.3 Error: too many recipients", outcome: .retryMessage),
        Case(source: "Postfix", phase: .data, code: 554, text: "5.5.1 Error: no valid recipients", outcome: .failPermanently),
        Case(source: "Postfix", phase: .ehlo, code: 421, text: "4.3.2 Service shutting down", outcome: .accountProblem(.unreachable)),
        Case(source: "Postfix", phase: .startTLS, code: 454, text: "4.7.0 TLS not available due to local problem",
             outcome: .accountProblem(.unreachable)),
        Case(source: "Postfix", phase: .endOfData, code: 250, text: "2.0.0 Ok: queued as 4Tq1Hk2xyzz", outcome: .sent),

        // Exim and cPanel
        Case(source: "Exim", phase: .auth, code: 535, text: "Incorrect authentication data", outcome: .accountProblem(.authFailed)),
        Case(source: "Exim", phase: .auth, code: 435, text: "Unable to authenticate at present", outcome: .accountProblem(.unreachable)),
        Case(source: "Exim", phase: .rcptTo, code: 550, text: "relay not permitted", outcome: .accountProblem(.authFailed)),
        Case(source: "Exim", phase: .rcptTo, code: 550, text: "Unrouteable address", outcome: .failPermanently),
        Case(source: "Exim", phase: .rcptTo, code: 451, text: "Temporary local problem - please try later", outcome: .retryMessage),
        Case(source: "Exim", phase: .greeting, code: 421,
             text: "Too many concurrent SMTP connections from this IP address; please try again later.",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Exim", phase: .rcptTo, code: 451, text: "Sender rate overlimit - 120.3 / 1h / per_rcpt",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "cPanel", phase: .endOfData, code: 550,
             text: "Domain example.test has exceeded the max emails per hour (111/100 (111%)) allowed.  Message discarded.",
             outcome: .accountProblem(.rateLimited(retryAfter: nil))),
        Case(source: "Exim", phase: .mailFrom, code: 550, text: "Administrative prohibition", outcome: .failPermanently),

        // Odd replies
        Case(source: "recipient-side rate (x.2.1)", phase: .rcptTo, code: 450,
             text: "4.2.1 <someone@example.org>: mailbox rate limit exceeded, try again later", outcome: .retryMessage),
        Case(source: "recipient over quota (x.2.2)", phase: .endOfData, code: 552,
             text: "5.2.2 <someone@example.org>: Mailbox quota exceeded", outcome: .failPermanently),
        Case(source: "nonsense code", phase: .endOfData, code: 999, text: "what", outcome: .retryMessage),
        Case(source: "354 where a final reply was due", phase: .endOfData, code: 354, text: "go ahead", outcome: .retryMessage),
        Case(source: "3xx during setup", phase: .ehlo, code: 334, text: "VXNlcm5hbWU6", outcome: .accountProblem(.unreachable)),
        Case(source: "mixed case phrase", phase: .endOfData, code: 454, text: "THROTTLING FAILURE: DAILY MESSAGE QUOTA EXCEEDED.",
             outcome: .accountProblem(.quotaExhausted)),
    ]

    @Test(arguments: cases)
    func providerReply(_ example: Case) {
        let reply = UpstreamReply(code: example.code, text: example.text)
        #expect(RelayOutcome.classify(reply, in: example.phase) == example.outcome)
    }

    @Test func theRetryHintTravelsWithARateLimit() {
        let reply = UpstreamReply(code: 454, text: "Throttling failure: Maximum sending rate exceeded.")
        #expect(RelayOutcome.classify(reply, in: .endOfData, retryHint: .minutes(10))
            == .accountProblem(.rateLimited(retryAfter: .minutes(10))))
    }

    @Test(arguments: [
        (RelayOutcome.sent, false), (.retryMessage, true), (.failPermanently, true),
        (.accountProblem(.authFailed), false), (.accountProblem(.rateLimited(retryAfter: nil)), false),
        (.accountProblem(.quotaExhausted), false), (.accountProblem(.suspended), false),
        (.accountProblem(.unreachable), false),
    ])
    func onlyMessageFailuresCostAnAttempt(outcome: RelayOutcome, costs: Bool) {
        #expect(outcome.costsAttempt == costs)
    }

    @Test(arguments: [
        (TransportFailure.connectFailed, RelayPhase.greeting, RelayOutcome.accountProblem(.unreachable)),
        (.tlsFailed, .greeting, .accountProblem(.unreachable)),
        (.tlsFailed, .startTLS, .accountProblem(.unreachable)),
        (.timedOut, .greeting, .accountProblem(.unreachable)),
        (.timedOut, .ehlo, .accountProblem(.unreachable)),
        (.connectionLost, .auth, .accountProblem(.unreachable)),
        (.timedOut, .mailFrom, .retryMessage),
        (.connectionLost, .rcptTo, .retryMessage),
        (.connectionLost, .data, .retryMessage),
        (.timedOut, .endOfData, .retryMessage),
    ])
    func transportFailure(failure: TransportFailure, phase: RelayPhase, outcome: RelayOutcome) {
        #expect(RelayOutcome.classify(failure, in: phase) == outcome)
    }

    @Test(arguments: [
        ("5.7.8", EnhancedStatusCode(5, 7, 8) as EnhancedStatusCode?), ("4.7.28", EnhancedStatusCode(4, 7, 28)),
        ("5.7.139", EnhancedStatusCode(5, 7, 139)), ("2.0.0", EnhancedStatusCode(2, 0, 0)),
        ("3.0.0", nil), ("5.7", nil), ("5.7.8.1", nil), ("5..8", nil), ("55.7.8", nil), ("5.7.1000", nil),
        ("5.a.8", nil), ("", nil), ("5.7.8,", nil),
    ])
    func enhancedStatusParsing(text: String, status: EnhancedStatusCode?) {
        #expect(EnhancedStatusCode(text) == status)
    }

    @Test func theEnhancedStatusIsTakenFromTheTextStart() {
        let reply = UpstreamReply(code: 550, text: "5.4.5 Daily user sending limit exceeded.")
        #expect(reply.enhancedStatus == EnhancedStatusCode(5, 4, 5))
        #expect(reply.text == "Daily user sending limit exceeded.")
        #expect(reply.description == "550 5.4.5 Daily user sending limit exceeded.")
        #expect(UpstreamReply(code: 535, text: "Incorrect authentication data").enhancedStatus == nil)
    }

    @Test func aHugeHostileReplyIsJudgedOnItsStart() {
        let padding = String(repeating: "x", count: 100_000)
        #expect(RelayOutcome.classify(UpstreamReply(code: 550, text: padding + " daily sending quota"), in: .endOfData)
            == .failPermanently)
        #expect(RelayOutcome.classify(UpstreamReply(code: 451, text: "rate limit " + padding), in: .endOfData)
            == .accountProblem(.rateLimited(retryAfter: nil)))
    }
}
