// Query results, copied out of libpq's PGresult at once (then cleared), so
// they are plain Sendable values. Every value is text as PostgreSQL prints it
// (results are requested in text format); typed accessors parse it and
// return nil for NULL or for text that is not of that type.
internal import CLibPQ

public struct PGResult: Sendable {
    public let columns: [String]
    public let rows: [PGRow]
    /// Rows inserted, updated, deleted, selected... (PQcmdTuples); 0 when the command reports none.
    public let affectedRows: Int
    /// The command tag, e.g. "INSERT 0 1", "SELECT 3", "BEGIN".
    public let commandTag: String

    public init(columns: [String], rows: [[String?]], affectedRows: Int, commandTag: String) {
        self.columns = columns
        self.rows = rows.map { PGRow(columns: columns, values: $0) }
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }
    public var first: PGRow? { rows.first }

    public subscript(row: Int) -> PGRow { rows[row] }

    /// Copies a PGresult of status TUPLES_OK or COMMAND_OK; the caller clears it.
    init(copying result: OpaquePointer) {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var names: [String] = []
        names.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            names.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "?column?")
        }
        var table: [[String?]] = []
        table.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else if let text = PQgetvalue(result, Int32(row), Int32(column)) {
                    values.append(String(cString: text))
                } else {
                    values.append(nil)
                }
            }
            table.append(values)
        }
        let tuples = PQcmdTuples(result).map { String(cString: $0) } ?? ""
        self.init(columns: names, rows: table, affectedRows: Int(tuples) ?? 0,
                  commandTag: PQcmdStatus(result).map { String(cString: $0) } ?? "")
    }
}

public struct PGRow: Sendable {
    public let columns: [String]
    public let values: [String?]

    /// The text of a column by position; nil for NULL. Traps when out of range, like an array.
    public subscript(index: Int) -> String? { values[index] }

    /// The text of a column by name; nil for NULL or no such column.
    public subscript(name: String) -> String? {
        guard let index = columns.firstIndex(of: name) else { return nil }
        return values[index]
    }

    public func string(_ name: String) -> String? { self[name] }
    public func int(_ name: String) -> Int? { self[name].flatMap { Int($0) } }
    public func double(_ name: String) -> Double? { self[name].flatMap { Double($0) } }
    public func bool(_ name: String) -> Bool? { self[name].flatMap(PGRow.parseBool) }
    /// A bytea column (hex output, PostgreSQL's default) as bytes.
    public func bytes(_ name: String) -> [UInt8]? { self[name].flatMap(PGRow.parseByteaHex) }

    public func string(_ index: Int) -> String? { self[index] }
    public func int(_ index: Int) -> Int? { self[index].flatMap { Int($0) } }
    public func double(_ index: Int) -> Double? { self[index].flatMap { Double($0) } }
    public func bool(_ index: Int) -> Bool? { self[index].flatMap(PGRow.parseBool) }
    public func bytes(_ index: Int) -> [UInt8]? { self[index].flatMap(PGRow.parseByteaHex) }

    static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "t", "true": return true
        case "f", "false": return false
        default: return nil
        }
    }

    /// Decodes `\x0a1b...`; nil for anything else (escape format is not produced by default).
    static func parseByteaHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0
        else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = hexDigit(utf8[index]), let low = hexDigit(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A LISTEN notification: the channel, the payload, and the sending backend's pid.
public struct PGNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    public let senderPID: Int32

    public init(channel: String, payload: String, senderPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderPID = senderPID
    }
}
