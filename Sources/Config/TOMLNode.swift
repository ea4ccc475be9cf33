// A plain Sendable copy of a parsed TOML document, taken from TOMLKit at once
// so the rest of the loader works on values (TOMLKit's tables are classes
// around C++ pointers). Also renders a value for messages: `string "abc"`.
// Times and date-times are kept only as their type: no config key takes them.
import TOMLKit

/// A calendar date as written in TOML (`2026-11-01`), no time zone.
public struct CalendarDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}

indirect enum TOMLNode: Sendable, Equatable {
    case table([String: TOMLNode])
    case array([TOMLNode])
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case date(CalendarDate)
    case time(String)
    case dateTime(String)

    /// Parses TOML text; a syntax error comes back with TOMLKit's line.
    static func parse(_ text: String) -> Result<[String: TOMLNode], TOMLSyntaxError> {
        do {
            let table = try TOMLTable(string: text)
            return .success(convert(table))
        } catch let error as TOMLParseError {
            return .failure(TOMLSyntaxError(line: error.source.begin.line,
                                            column: error.source.begin.column,
                                            message: error.description))
        } catch {
            return .failure(TOMLSyntaxError(line: nil, column: nil, message: "\(error)"))
        }
    }

    private static func convert(_ table: TOMLTable) -> [String: TOMLNode] {
        var result: [String: TOMLNode] = [:]
        for key in table.keys {
            if let value = table[key] { result[key] = convert(value) }
        }
        return result
    }

    private static func convert(_ value: TOMLValueConvertible) -> TOMLNode {
        switch value.type {
        case .table:
            return .table(value.table.map(convert) ?? [:])
        case .array:
            return .array(value.array.map { array in array.map(convert) } ?? [])
        case .string:
            return .string(value.string ?? "")
        case .int:
            return .integer(value.int ?? 0)
        case .double:
            return .float(value.double ?? 0)
        case .bool:
            return .boolean(value.bool ?? false)
        case .date:
            let date = value.date
            return .date(CalendarDate(year: date?.year ?? 0, month: date?.month ?? 0, day: date?.day ?? 0))
        case .time:
            return .time(value.debugDescription)
        case .dateTime:
            return .dateTime(value.debugDescription)
        }
    }

    /// "string \"abc\"", "integer 5", "table": used in "expected X, found Y".
    var summary: String {
        switch self {
        case .table: return "a table"
        case .array: return "an array"
        case .string(let text):
            let shown = text.count > 60 ? String(text.prefix(60)) + "..." : text
            return "string \"\(shown)\""
        case .integer(let value): return "integer \(value)"
        case .float(let value): return "float \(value)"
        case .boolean(let value): return "boolean \(value)"
        case .date(let value): return "date \(value)"
        case .time(let value): return "time \(value)"
        case .dateTime(let value): return "date-time \(value)"
        }
    }
}

struct TOMLSyntaxError: Error, Sendable {
    var line: Int?
    var column: Int?
    var message: String
}
