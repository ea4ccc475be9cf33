// RFC 5322 Date values to Unix seconds: "Thu, 13 Feb 2025 23:32:54 -0330",
// with the obsolete forms mail still carries (two-digit years, no seconds,
// zone names such as GMT/EST/PDT, comments like "(CET)", missing zone = UTC).
// nil for anything unparseable or outside 1970-9999, so the caller uses the
// time it received the message instead. Pure arithmetic, no calendar API.
import MailCore

public enum MessageDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let zones: [String: Int] = [
        "ut": 0, "utc": 0, "gmt": 0, "z": 0, "edt": -4 * 60, "est": -5 * 60, "cdt": -5 * 60, "cst": -6 * 60,
        "mdt": -6 * 60, "mst": -7 * 60, "pdt": -7 * 60, "pst": -8 * 60,
    ]

    public static func parse(_ value: String) -> Int64? {
        // Comments out, then words split on blanks and commas.
        var text = ""
        var depth = 0
        for character in value.prefix(200) {
            if character == "(" { depth += 1; continue }
            if character == ")" { depth = max(0, depth - 1); continue }
            if depth == 0 { text.append(character) }
        }
        var words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "\r" || $0 == "\n" })
            .map { $0.lowercased() }
        if let first = words.first, first.count >= 3, first.allSatisfy(\.isLetter), !months.contains(String(first.prefix(3))) {
            words.removeFirst()                                   // day of week
        }
        guard words.count >= 4 else { return nil }
        var day: Int?
        var month: Int?
        var year: Int?
        // "13 feb 2025" or the occasional "feb 13 2025".
        if let number = Int(words[0]), let name = monthNumber(words[1]) {
            day = number; month = name
        } else if let name = monthNumber(words[0]), let number = Int(words[1]) {
            day = number; month = name
        }
        if let yearText = words.count > 2 ? words[2] : nil, let number = Int(yearText), yearText.count <= 4 {
            year = yearText.count <= 2 ? (number < 50 ? 2000 + number : 1900 + number)
                : (yearText.count == 3 ? 1900 + number : number)
        }
        guard let day, let month, let year, (1...31).contains(day), (1970...9999).contains(year) else { return nil }
        let clock = words[3].split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard clock.count == 2 || clock.count == 3, let hour = clock[0], let minute = clock[1],
              (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        let second = clock.count == 3 ? clock[2] : 0
        guard let second, (0...60).contains(second) else { return nil }
        var offsetMinutes = 0
        if words.count > 4 { offsetMinutes = zone(words[4]) ?? 0 }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
    }

    private static func monthNumber(_ word: String) -> Int? {
        guard word.count >= 3 else { return nil }
        return months.firstIndex(of: String(word.prefix(3))).map { $0 + 1 }
    }

    /// "+0100", "-0330", "gmt" -> minutes east of UTC.
    private static func zone(_ word: String) -> Int? {
        if let named = zones[word] { return named }
        let scalars = Array(word.utf8)
        guard scalars.count == 5, scalars[0] == UInt8(ascii: "+") || scalars[0] == UInt8(ascii: "-"),
              let digits = Int(word.dropFirst()), digits >= 0 else { return nil }
        let hours = digits / 100, minutes = digits % 100
        guard hours <= 23, minutes <= 59 else { return nil }
        let total = hours * 60 + minutes
        return scalars[0] == UInt8(ascii: "-") ? -total : total
    }


}
