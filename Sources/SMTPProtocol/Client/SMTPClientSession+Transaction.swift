// One mail transaction: local checks (SIZE, SMTPUTF8, address syntax) before MAIL, then MAIL +
// every RCPT + DATA in one write when PIPELINING is offered (replies matched in order, RFC 2920),
// else one command per reply; the dot-stuffed content after 354; per-recipient results; RSET
// when a transaction was opened but not finished. A 354 with no accepted recipient gets a lone ".".

import MailCore

struct ClientTransaction {
    enum Expected: Equatable {
        case mail
        case rcpt(Int)
        case data
        case dataEnd
        /// The end of an empty DATA forced by a 354 that should not have come; reply ignored.
        case discardedDataEnd

        var step: SMTPClientStep {
            switch self {
            case .mail: .mail
            case .rcpt: .rcpt
            case .data: .dataInitiation
            case .dataEnd, .discardedDataEnd: .dataTermination
            }
        }
    }

    var message: SMTPClientMessage
    var results: [SMTPRecipientResult?]
    var pipelined: Bool
    /// Replies outstanding, in the order the commands were sent.
    var expected: [Expected] = []
    /// Recipients to send RCPT for, in order (those with a valid path); `nextRecipient` indexes it.
    var sendable: [Int] = []
    var recipientPaths: [Int: String] = [:]
    var nextRecipient = 0
    var mailAccepted = false
    var mailRefusal: (reply: SMTPReply, classification: UpstreamVerdict)?
    var accepted: [Int] = []
    var dataReply: SMTPReply?
}

extension SMTPClientSession {
    /// Hands a message to an idle (`.ready`) session. Answered by exactly one `.messageResult`.
    public mutating func send(_ message: SMTPClientMessage) -> [SMTPClientAction] {
        var actions: [SMTPClientAction] = []
        messageCount += 1
        guard state == .ready, let capabilities else {
            let notReady = SMTPClientSession.localResult(
                message, reply: SMTPReply(451, "4.3.0", "upstream session not ready"),
                classification: .accountProblem(.unreachable))
            return [.messageResult(notReady)]
        }
        let needsUTF8 = message.requiresSMTPUTF8 || !(message.sender?.isASCII ?? true)
            || message.recipients.contains { !$0.address.isASCII }
        let permanent = UpstreamVerdict.failPermanently
        if let size = capabilities.size, capabilities.refusesSize(message.content.count) {
            let reply = SMTPReply(552, "5.3.4", "message size \(message.content.count) exceeds the upstream limit of \(size)")
            finishLocally(message, reply: reply, classification: permanent, into: &actions)
            return actions
        }
        if needsUTF8 && !capabilities.smtpUTF8 {
            let reply = SMTPReply(553, "5.6.7", "SMTPUTF8 is required but not offered by the upstream")
            finishLocally(message, reply: reply, classification: permanent, into: &actions)
            return actions
        }
        guard let from = SMTPClientEncoding.path(message.sender) else {
            finishLocally(message, reply: SMTPReply(501, "5.1.7", "bad sender address"), classification: permanent,
                          into: &actions)
            return actions
        }
        var transaction = ClientTransaction(message: message, results: Array(repeating: nil, count: message.recipients.count),
                                            pipelined: capabilities.pipelining)
        for (index, recipient) in message.recipients.enumerated() {
            if let path = SMTPClientEncoding.path(recipient.address) {
                transaction.sendable.append(index)
                transaction.recipientPaths[index] = path
            } else {
                transaction.results[index] = SMTPRecipientResult(
                    recipient: recipient.address, outcome: permanent,
                    reply: SMTPReply(501, "5.1.3", "bad recipient address"), fromUpstream: false)
            }
        }
        guard !transaction.sendable.isEmpty else {
            self.transaction = transaction
            finishTransaction(needsReset: false, into: &actions)
            return actions
        }
        var bytes = SMTPClientEncoding.line(mailCommand(from: from, message: message, capabilities: capabilities,
                                                        needsUTF8: needsUTF8))
        transaction.expected = [.mail]
        if transaction.pipelined {
            for index in transaction.sendable {
                bytes += SMTPClientEncoding.line(rcptCommand(index, in: transaction, capabilities: capabilities))
                transaction.expected.append(.rcpt(index))
            }
            bytes += SMTPClientEncoding.line("DATA")
            transaction.expected.append(.data)
            transaction.nextRecipient = transaction.sendable.count
        }
        self.transaction = transaction
        state = .transaction
        actions.append(.send(bytes))
        return actions
    }

    private func mailCommand(from: String, message: SMTPClientMessage, capabilities: SMTPServerCapabilities,
                             needsUTF8: Bool) -> String {
        var command = "MAIL FROM:\(from)"
        if capabilities.size != nil { command += " SIZE=\(message.content.count)" }
        if capabilities.eightBitMIME && message.content.contains(where: { $0 >= 0x80 }) { command += " BODY=8BITMIME" }
        if needsUTF8 { command += " SMTPUTF8" }
        if capabilities.dsn {
            if let ret = message.dsnReturn { command += " RET=\(ret.rawValue)" }
            if let envelopeID = message.envelopeID { command += " ENVID=\(SMTPClientEncoding.xtext(envelopeID))" }
        }
        return command
    }

    private func rcptCommand(_ index: Int, in transaction: ClientTransaction,
                             capabilities: SMTPServerCapabilities) -> String {
        let recipient = transaction.message.recipients[index]
        var command = "RCPT TO:\(transaction.recipientPaths[index] ?? "<>")"
        if capabilities.dsn {
            if let notify = recipient.notify { command += " NOTIFY=\(SMTPClientEncoding.notify(notify))" }
            if let original = recipient.originalRecipientAddress {
                let type = recipient.originalRecipientType ?? "rfc822"
                command += " ORCPT=\(SMTPClientEncoding.xtext(type));\(SMTPClientEncoding.xtext(original))"
            }
        }
        return command
    }

    mutating func handleTransactionReply(_ reply: SMTPReply, into actions: inout [SMTPClientAction]) {
        guard var transaction, !transaction.expected.isEmpty else {
            fail(.protocolError, reply: reply, detail: "reply without a command: \(reply.description)", into: &actions)
            return
        }
        let expectation = transaction.expected.removeFirst()
        let verdict = reply.verdict(at: expectation.step)
        let failure = verdict == .accepted ? nil : verdict
        guard Self.fits(reply, expectation) else {
            fail(.protocolError, reply: reply, detail: "unexpected reply: \(reply.description)", into: &actions)
            return
        }
        switch expectation {
        case .mail:
            if let failure {
                transaction.mailRefusal = (reply, failure)
            } else {
                transaction.mailAccepted = true
            }
            self.transaction = transaction
            if !transaction.pipelined { sendNextCommand(into: &actions) }
        case .rcpt(let index):
            let address = transaction.message.recipients[index].address
            if let refusal = transaction.mailRefusal {
                transaction.results[index] = SMTPRecipientResult(recipient: address, outcome: refusal.classification,
                                                                 reply: refusal.reply, fromUpstream: true)
            } else if var failure {
                // "Too many recipients" before any was taken cannot be about the count: split again and
                // the next transaction would meet it again, for ever. A temporary failure instead.
                if failure == .recipientLimit && transaction.accepted.isEmpty { failure = .retryMessage(after: nil) }
                transaction.results[index] = SMTPRecipientResult(recipient: address, outcome: failure,
                                                                 reply: reply, fromUpstream: true)
                if failure == .recipientLimit && !transaction.pipelined {
                    // The server takes no more in this transaction: the rest go to the next one.
                    for later in transaction.sendable[transaction.nextRecipient...] {
                        transaction.results[later] = SMTPRecipientResult(
                            recipient: transaction.message.recipients[later].address, outcome: failure,
                            reply: reply, fromUpstream: true)
                    }
                    transaction.nextRecipient = transaction.sendable.count
                }
            } else {
                transaction.accepted.append(index)
            }
            self.transaction = transaction
            if !transaction.pipelined { sendNextCommand(into: &actions) }
        case .data:
            self.transaction = transaction
            if let failure {
                settleAccepted(reply: reply, outcome: failure)
                finishTransaction(needsReset: transaction.mailAccepted, into: &actions)
            } else if transaction.accepted.isEmpty || transaction.mailRefusal != nil {
                self.transaction?.expected = [.discardedDataEnd]
                actions.append(.send(SMTPClientEncoding.line(".")))
            } else {
                self.transaction?.expected = [.dataEnd]
                actions.append(.send(DotStuffer.stuffed(transaction.message.content)))
            }
        case .dataEnd:
            transaction.dataReply = reply
            self.transaction = transaction
            settleAccepted(reply: reply, outcome: verdict)
            finishTransaction(needsReset: false, into: &actions)
        case .discardedDataEnd:
            self.transaction = transaction
            finishTransaction(needsReset: false, into: &actions)
        }
    }

    /// DATA wants 354, the others 2xx; any 4xx/5xx is a refusal; the rest is a protocol error.
    private static func fits(_ reply: SMTPReply, _ expectation: ClientTransaction.Expected) -> Bool {
        if reply.code >= 400 { return true }
        switch expectation {
        case .mail, .rcpt, .dataEnd: return reply.isPositive
        case .data: return reply.code == 354
        case .discardedDataEnd: return true
        }
    }

    /// Without PIPELINING: the next RCPT, else DATA when someone was accepted, else the end.
    private mutating func sendNextCommand(into actions: inout [SMTPClientAction]) {
        guard var transaction, let capabilities else { return }
        if transaction.mailRefusal != nil {
            for index in transaction.sendable[transaction.nextRecipient...] {
                if let refusal = transaction.mailRefusal {
                    transaction.results[index] = SMTPRecipientResult(
                        recipient: transaction.message.recipients[index].address,
                        outcome: refusal.classification, reply: refusal.reply, fromUpstream: true)
                }
            }
            self.transaction = transaction
            finishTransaction(needsReset: false, into: &actions)
            return
        }
        if transaction.nextRecipient < transaction.sendable.count {
            let index = transaction.sendable[transaction.nextRecipient]
            transaction.nextRecipient += 1
            transaction.expected = [.rcpt(index)]
            actions.append(.send(SMTPClientEncoding.line(rcptCommand(index, in: transaction, capabilities: capabilities))))
            self.transaction = transaction
            return
        }
        guard !transaction.accepted.isEmpty else {
            self.transaction = transaction
            finishTransaction(needsReset: transaction.mailAccepted, into: &actions)
            return
        }
        transaction.expected = [.data]
        self.transaction = transaction
        actions.append(.send(SMTPClientEncoding.line("DATA")))
    }

    /// Gives every recipient accepted by RCPT the outcome of DATA or of the end of data.
    private mutating func settleAccepted(reply: SMTPReply, outcome: UpstreamVerdict) {
        guard var transaction else { return }
        for index in transaction.accepted {
            transaction.results[index] = SMTPRecipientResult(recipient: transaction.message.recipients[index].address,
                                                             outcome: outcome, reply: reply, fromUpstream: true)
        }
        self.transaction = transaction
    }

    mutating func finishTransaction(needsReset: Bool, into actions: inout [SMTPClientAction]) {
        guard let transaction else { return }
        let unknown = SMTPReply(451, "4.5.0", "no reply for this recipient")
        let results = transaction.results.enumerated().map { index, result in
            result ?? SMTPRecipientResult(recipient: transaction.message.recipients[index].address,
                                          outcome: .accountProblem(.unreachable),
                                          reply: unknown, fromUpstream: false)
        }
        let queueID = transaction.dataReply.flatMap { $0.isPositive ? Self.upstreamQueueID(in: $0.text) : nil }
        actions.append(.messageResult(SMTPMessageResult(recipients: results, dataReply: transaction.dataReply,
                                                        upstreamQueueID: queueID)))
        self.transaction = nil
        if needsReset {
            state = .reset
            actions.append(.send(SMTPClientEncoding.line("RSET")))
        } else {
            becomeReady(into: &actions)
        }
    }

    private mutating func finishLocally(_ message: SMTPClientMessage, reply: SMTPReply,
                                        classification: UpstreamVerdict, into actions: inout [SMTPClientAction]) {
        actions.append(.messageResult(Self.localResult(message, reply: reply, classification: classification)))
        becomeReady(into: &actions)
    }

    static func localResult(_ message: SMTPClientMessage, reply: SMTPReply,
                            classification: UpstreamVerdict) -> SMTPMessageResult {
        let recipients = message.recipients.map {
            SMTPRecipientResult(recipient: $0.address, outcome: classification, reply: reply, fromUpstream: false)
        }
        return SMTPMessageResult(recipients: recipients, dataReply: nil, upstreamQueueID: nil)
    }

    /// "queued as X" (Postfix, SendGrid) or "id=X" (Exim); nil otherwise.
    static func upstreamQueueID(in text: String) -> String? {
        let bytes = Array(text.utf8)
        let lowered = bytes.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
        for marker in ["queued as ", "id="] {
            let pattern = Array(marker.utf8)
            guard pattern.count <= lowered.count else { continue }
            for start in 0...(lowered.count - pattern.count) where lowered[start..<(start + pattern.count)].elementsEqual(pattern) {
                if start > 0, marker == "id=", lowered[start - 1] > 0x20 { continue }
                var end = start + pattern.count
                while end < bytes.count, bytes[end] > 0x20, bytes[end] < 0x7F,
                      ![UInt8(ascii: ";"), UInt8(ascii: ")"), UInt8(ascii: ","), UInt8(ascii: ">")].contains(bytes[end]) {
                    end += 1
                }
                let token = bytes[(start + pattern.count)..<end]
                if !token.isEmpty, token.count <= 64 { return String(decoding: token, as: UTF8.self) }
            }
        }
        return nil
    }
}
