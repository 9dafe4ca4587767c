import FoundationEssentials

/// ISO 8601 text of an instant in UTC, `2026-11-29T18:00:00.123Z`, by arithmetic alone.
///
/// The same text as FoundationEssentials' `Date.ISO8601FormatStyle` (UTC, milliseconds
/// truncated), without its calendar, time zone and locale machinery: a cold `pgwarden locks
/// --json` formats one timestamp, and that machinery is most of the code it would otherwise page
/// in for it.
package enum UTCTimestamp {
    /// `date` as `YYYY-MM-DDTHH:MM:SS[.mmm]Z`.
    package static func iso8601(_ date: Date, fractionalSeconds: Bool) -> String {
        // As Foundation counts: whole seconds since 2001 and the fraction left, milliseconds truncated.
        let sinceReference = date.timeIntervalSinceReferenceDate
        let whole = sinceReference.rounded(.down)
        let millisecond = min(999, Int64(((sinceReference - whole) * 1000).rounded(.down)))
        let seconds = Int64(whole) + 978_307_200
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = civil(daysSinceEpoch: days)
        var text =
            padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2) + "T" + padded(secondOfDay / 3600, 2)
            + ":" + padded(secondOfDay / 60 % 60, 2) + ":" + padded(secondOfDay % 60, 2)
        if fractionalSeconds { text += "." + padded(millisecond, 3) }
        return text + "Z"
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`).
    static func civil(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let (era, dayOfEra) = floorDivision(daysSinceEpoch + 719_468, 146_097)
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0 is March
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = (value % divisor + divisor) % divisor
        return ((value - remainder) / divisor, remainder)
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let sign = value < 0 ? "-" : ""
        return sign + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
