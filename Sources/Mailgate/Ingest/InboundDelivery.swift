// The inbound listener's end of data: the message (with our Received: line)
// goes through the same ingestion as `mailgate ingest` — parsed, threaded,
// bounces classified and recorded, suppressions, mailto unsubscribes — and the
// session's 250 waits for that transaction to commit (451 when it fails). It is
// filed under the account whose address (else send-as) matches a recipient,
// else under "inbound". One logfmt line per accepted message.
import Config
import Logging
import MailCore
import Postgres
import SMTPProtocol

final class InboundDelivery {
    static let fallbackAccount = "inbound"

    private let store: IngestStore
    private var config: MailgateConfig

    init(pool: PGPool, config: MailgateConfig, unsubscribeKey: @escaping () -> [UInt8]?) {
        self.store = IngestStore(pool: pool, unsubscribeKey: unsubscribeKey)
        self.config = config
    }

    func reload(_ newConfig: MailgateConfig) { config = newConfig }

    func deliver(_ raw: [UInt8], envelope: SMTPInboundEnvelope, id: String, logger: Logger,
                 completion: @escaping (Result<IngestOutcome, PGError>) -> Void) {
        let account = Self.account(for: envelope.recipients, in: config)
        let recipients = envelope.recipients.map(\.description)
        store.ingest(raw: raw, account: account, folder: nil, uid: nil, direction: .inbound,
                     envelopeRecipients: recipients) { result in
            switch result {
            case .success(let outcome):
                logger.info("message accepted", metadata: [
                    "id": "\(id)", "from": "\(envelope.sender.map(\.description) ?? "<>")",
                    "to": "\(recipients.joined(separator: ","))", "size": "\(raw.count)", "account": "\(account)",
                    "thread": "\(outcome.threadID)", "duplicate": "\(outcome.duplicate)",
                    "report": "\(outcome.reportType ?? "none")",
                    "events": "\(outcome.events.map { "\($0.event):\($0.recipient)" }.joined(separator: ","))",
                ])
            case .failure(let error):
                logger.error("message refused", metadata: [
                    "id": "\(id)", "from": "\(envelope.sender.map(\.description) ?? "<>")",
                    "to": "\(recipients.joined(separator: ","))", "reply": "451 4.3.0", "reason": "\(error)",
                ])
            }
            completion(result)
        }
    }

    static func account(for recipients: [MailboxAddress], in config: MailgateConfig) -> String {
        for recipient in recipients {
            let text = recipient.description.lowercased()
            if let exact = config.accounts.first(where: { $0.address.lowercased() == text }) { return exact.name }
        }
        for recipient in recipients {
            if let owner = config.accounts.first(where: { $0.maySendAs(recipient) }) { return owner.name }
        }
        return fallbackAccount
    }
}
