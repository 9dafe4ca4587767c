// libFuzzer target: the duration syntax. Any input either parses to a duration inside its range
// or throws a Problem with a message; nothing traps (1e300, 2^63, 300 digits, NULs, …).
import WardenSupport

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzDuration(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for range in [DurationRange.positive, .zeroOrMore, .lockTimeout, .pollInterval] {
        do {
            let duration = try DurationSyntax.parse(text, in: range)
            guard duration <= DurationSyntax.maximum, duration >= .zero else {
                fatalError("out of range: \(duration) from \(text.debugDescription)")
            }
            if let minimum = range.minimum, duration < minimum {
                fatalError("below the minimum: \(text.debugDescription)")
            }
            if duration == .zero, !range.allowsZero { fatalError("zero accepted: \(text.debugDescription)") }
            _ = DurationSyntax.format(duration)
            _ = duration.milliseconds
        } catch {
            guard !error.message.isEmpty, TerminalText.isSafe(error.message) else {
                fatalError("an unsafe or empty message for \(text.debugDescription)")
            }
        }
    }
    return 0
}
