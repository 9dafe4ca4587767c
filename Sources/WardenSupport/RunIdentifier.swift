import FoundationEssentials

/// Identifiers for pauses and runs: `20261129T192900Z-3fa1`, sortable and unique enough to tell apart.
package enum RunIdentifier {
    /// A new identifier for something starting at `date`.
    package static func make(at date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let stamp = String(
            printf: "%04d%02d%02dT%02d%02d%02dZ",
            parts.year!,
            parts.month!,
            parts.day!,
            parts.hour!,
            parts.minute!,
            parts.second!
        )
        return stamp + "-" + String(printf: "%04x", UInt16.random(in: .min ... .max))
    }
}
