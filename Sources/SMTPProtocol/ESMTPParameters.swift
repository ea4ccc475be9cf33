// MAIL FROM and RCPT TO parameters (RFC 5321 §4.1.2 esmtp-param): SIZE, BODY, SMTPUTF8, RET,
// ENVID, AUTH (accepted, ignored), MT-PRIORITY, HOLDFOR, HOLDUNTIL for MAIL; NOTIFY and ORCPT for
// RCPT. Keywords are case-insensitive; a repeated or unknown keyword is refused.
// Limits: numbers are parsed without overflow (SIZE saturates at Int.max); ENVID <= 100, ORCPT <= 500.

import MailCore

enum ParameterError: Error, Equatable {
    /// Unknown keyword: 555 5.5.4.
    case unsupported
    /// Known keyword with a bad or repeated value: 501 5.5.4.
    case badValue
}

struct MailParameters: Equatable {
    var size: Int?
    var body: SMTPBodyType?
    var smtpUTF8 = false
    var dsnReturn: DSNReturn?
    var envelopeID: String?
    var mtPriority: Int?
    var holdFor: Int64?
    var holdUntil: Int64?
}

struct RecipientParameters: Equatable {
    var notify: DSNNotify?
    var originalRecipientType: String?
    var originalRecipientAddress: String?
}

enum ESMTPParameters {
    /// Splits "KEY=value KEY2" into (upper-cased keyword, raw value) pairs; nil on bad syntax.
    static func split(_ bytes: ArraySlice<UInt8>) -> [(keyword: String, value: ArraySlice<UInt8>?)]? {
        var result: [(String, ArraySlice<UInt8>?)] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 32 { index += 1; continue }
            var end = index
            while end < bytes.endIndex, bytes[end] != 32 { end += 1 }
            let token = bytes[index..<end]
            index = end
            let equals = token.firstIndex(of: UInt8(ascii: "="))
            let keywordBytes = token[token.startIndex..<(equals ?? token.endIndex)]
            guard let first = keywordBytes.first, PathParser.isLetDig(first),
                  keywordBytes.allSatisfy({ PathParser.isLetDig($0) || $0 == UInt8(ascii: "-") }) else { return nil }
            let keyword = String(decoding: keywordBytes, as: UTF8.self).uppercased()
            if let equals {
                let value = token[(equals + 1)...]
                guard !value.isEmpty, value.allSatisfy({ ($0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: "=")) || $0 >= 0x80 })
                else { return nil }
                result.append((keyword, value))
            } else {
                result.append((keyword, nil))
            }
        }
        return result
    }

    static func parseMail(_ bytes: ArraySlice<UInt8>, now: Int64) -> Result<MailParameters, ParameterError> {
        guard let pairs = split(bytes) else { return .failure(.badValue) }
        var parameters = MailParameters()
        var seen: Set<String> = []
        for (keyword, value) in pairs {
            guard seen.insert(keyword).inserted else { return .failure(.badValue) }
            switch keyword {
            case "SIZE":
                guard let value, let size = decimal(value, saturatingAt: Int.max) else { return .failure(.badValue) }
                parameters.size = size
            case "BODY":
                guard let value, let body = SMTPBodyType(rawValue: ascii(value).uppercased()) else {
                    return .failure(value.map { ascii($0).uppercased() == "BINARYMIME" } == true ? .unsupported : .badValue)
                }
                parameters.body = body
            case "SMTPUTF8":
                guard value == nil else { return .failure(.badValue) }
                parameters.smtpUTF8 = true
            case "RET":
                guard let value, let ret = DSNReturn(rawValue: ascii(value).uppercased()) else { return .failure(.badValue) }
                parameters.dsnReturn = ret
            case "ENVID":
                guard let value, value.count <= 100, let envid = xtextDecode(value) else { return .failure(.badValue) }
                parameters.envelopeID = envid
            case "AUTH":
                // RFC 4954 §5: we trust our own AUTH, not the client's claim; accepted and ignored.
                guard value != nil else { return .failure(.badValue) }
            case "MT-PRIORITY":
                guard let value, let priority = mtPriority(value) else { return .failure(.badValue) }
                parameters.mtPriority = priority
            case "HOLDFOR":
                guard parameters.holdUntil == nil, let value,
                      let seconds = decimal(value, saturatingAt: Int.max) else { return .failure(.badValue) }
                parameters.holdFor = Int64(seconds)
            case "HOLDUNTIL":
                guard parameters.holdFor == nil, let value,
                      let time = RFC3339.parse(value) else { return .failure(.badValue) }
                parameters.holdUntil = time
            default:
                return .failure(.unsupported)
            }
        }
        return .success(parameters)
    }

    static func parseRecipient(_ bytes: ArraySlice<UInt8>) -> Result<RecipientParameters, ParameterError> {
        guard let pairs = split(bytes) else { return .failure(.badValue) }
        var parameters = RecipientParameters()
        var seen: Set<String> = []
        for (keyword, value) in pairs {
            guard seen.insert(keyword).inserted else { return .failure(.badValue) }
            switch keyword {
            case "NOTIFY":
                guard let value, let notify = notify(ascii(value).uppercased()) else { return .failure(.badValue) }
                parameters.notify = notify
            case "ORCPT":
                guard let value, value.count <= 500, let semicolon = value.firstIndex(of: UInt8(ascii: ";")),
                      semicolon > value.startIndex,
                      let address = xtextDecode(value[(semicolon + 1)...]), !address.isEmpty else {
                    return .failure(.badValue)
                }
                parameters.originalRecipientType = ascii(value[..<semicolon])
                parameters.originalRecipientAddress = address
            default:
                return .failure(.unsupported)
            }
        }
        return .success(parameters)
    }

    static func notify(_ text: String) -> DSNNotify? {
        if text == "NEVER" { return .never }
        var conditions: Set<DSNNotifyCondition> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let condition = DSNNotifyCondition(rawValue: String(part)),
                  conditions.insert(condition).inserted else { return nil }
        }
        return conditions.isEmpty ? nil : .on(conditions)
    }

    /// RFC 6710: ["-" / "+"] one digit.
    static func mtPriority(_ value: ArraySlice<UInt8>) -> Int? {
        var digits = value
        var sign = 1
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            sign = first == UInt8(ascii: "-") ? -1 : 1
            digits = digits.dropFirst()
        }
        guard digits.count == 1, let digit = digits.first, digit >= 0x30, digit <= 0x39 else { return nil }
        return sign * Int(digit - 0x30)
    }

    /// Decimal digits only; values past `limit` saturate to it (an absurd SIZE is still "too big").
    static func decimal(_ value: ArraySlice<UInt8>, saturatingAt limit: Int) -> Int? {
        guard !value.isEmpty else { return nil }
        var result = 0
        for byte in value {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (times10, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - 0x30))
            if overflow1 || overflow2 || sum > limit { result = limit } else { result = sum }
        }
        return result
    }

    /// RFC 3461 §4 xtext: "+" two upper-case hex digits encodes a byte.
    static func xtextDecode(_ value: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        var index = value.startIndex
        while index < value.endIndex {
            let byte = value[index]
            if byte == UInt8(ascii: "+") {
                guard index + 2 < value.endIndex,
                      let high = hex(value[index + 1]), let low = hex(value[index + 2]) else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                guard (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || byte >= 0x80 else { return nil }
                out.append(byte)
                index += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }

    static func ascii(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}
