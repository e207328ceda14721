// Call times as the API shows them: ISO 8601 UTC with milliseconds ("2026-11-25T15:05:00.123Z"),
// the format JavaScript's Date.toJSON() gives, which the old clients parse.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum TimestampError: Error, Equatable, Sendable {
    /// Not `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` nor whole epoch milliseconds.
    case malformed
    /// A field outside its range (month 13, minute 60, ...).
    case outOfRange
}

public enum Timestamp {
    /// Whole milliseconds since the Unix epoch, to the nearest: a Date made from milliseconds
    /// is a binary fraction a hair off, and must not fall to the millisecond below. Calls are
    /// stamped at millisecond precision so that a time printed by the API and parsed back
    /// (`history?before=`) is the same Date.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.toNearestOrAwayFromZero))
    }

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` at whole milliseconds.
    public static func truncated(_ date: Date) -> Date {
        self.date(milliseconds: milliseconds(date))
    }

    public static func format(_ date: Date) -> String {
        let ms = milliseconds(date)
        let (seconds, millis) = ms.floorDivided(by: 1000)
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// Parses what `format` prints, any ISO 8601 date-time with an offset (RFC 3339 §5.6;
    /// fractions beyond milliseconds are cut), or whole epoch milliseconds (`Date.now()`).
    public static func parse(_ text: some StringProtocol) throws(TimestampError) -> Date {
        let bytes = Array(text.utf8)
        if !bytes.isEmpty, bytes.count <= 15, bytes.allSatisfy({ (0x30...0x39).contains($0) }) {
            return date(milliseconds: Int64(String(decoding: bytes, as: UTF8.self))!)
        }
        var reader = Reader(bytes: bytes)
        let year = try reader.number(digits: 4)
        try reader.expect(UInt8(ascii: "-"))
        let month = try reader.number(digits: 2)
        try reader.expect(UInt8(ascii: "-"))
        let day = try reader.number(digits: 2)
        guard let separator = reader.next(), separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ") else {
            throw .malformed
        }
        let hour = try reader.number(digits: 2)
        try reader.expect(UInt8(ascii: ":"))
        let minute = try reader.number(digits: 2)
        try reader.expect(UInt8(ascii: ":"))
        let second = try reader.number(digits: 2)
        var millis: Int64 = 0
        if reader.peek() == UInt8(ascii: ".") {
            _ = reader.next()
            var digits = 0
            while let byte = reader.peek(), (0x30...0x39).contains(byte) {
                _ = reader.next()
                if digits < 3 { millis = millis * 10 + Int64(byte - 0x30) }
                digits += 1
            }
            guard digits > 0 else { throw .malformed }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        var offsetMinutes: Int64 = 0
        switch reader.next() {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            break
        case let sign? where sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"):
            let hours = try reader.number(digits: 2)
            try reader.expect(UInt8(ascii: ":"))
            let minutes = try reader.number(digits: 2)
            guard hours < 24, minutes < 60 else { throw .outOfRange }
            offsetMinutes = (hours * 60 + minutes) * (sign == UInt8(ascii: "+") ? 1 : -1)
        default:
            throw .malformed
        }
        guard reader.atEnd else { throw .malformed }
        // RFC 3339 §5.7: a leap second (60) is valid; it is folded into the next second.
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24,
            minute < 60, second <= 60
        else { throw .outOfRange }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return date(milliseconds: seconds * 1000 + millis)
    }

    // Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, day 0 = 1970-01-01.
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func next() -> UInt8? {
            defer { index += 1 }
            return peek()
        }

        mutating func expect(_ byte: UInt8) throws(TimestampError) {
            guard next() == byte else { throw .malformed }
        }

        mutating func number(digits: Int) throws(TimestampError) -> Int64 {
            var value: Int64 = 0
            for _ in 0..<digits {
                guard let byte = next(), (0x30...0x39).contains(byte) else { throw .malformed }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, with a non-negative remainder.
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = ((self % divisor) + divisor) % divisor
        return ((self - remainder) / divisor, remainder)
    }
}
