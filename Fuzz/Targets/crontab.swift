// libFuzzer target: the crontab transform. resume(pause(bytes)) gives the bytes back exactly, for
// any byte string (Latin-1, \xff, CRLF, no final newline) and any of a few patterns.
import Workers

let patterns = ["app-cli", "a", ".", "^x", "cli$", "[0-9]", "report"].map { try! WorkerPattern($0) }

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzCrontab(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let pattern = patterns[Int(data[0]) % patterns.count]
    let text = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let pauseID = "fuzz"
    // A crontab already carrying this pause's marker is not one a new pause meets (the id is new).
    let marker = Array(CrontabPause.marker(for: pauseID).utf8)
    guard !contains(text, marker) else { return 0 }
    guard let paused = try? CrontabPause.pause(text, patterns: [pattern], pauseID: pauseID) else { return 0 }
    let resumed = CrontabPause.resume(paused.text, pauseID: pauseID, paused: paused.lines)
    guard resumed.text == text else {
        fatalError("pause∘resume changed \(text) into \(resumed.text)")
    }
    guard resumed.lines.allSatisfy({ $0.state == CrontabPause.LineState.paused }) else {
        fatalError("a line not restored")
    }
    return 0
}

/// Whether `bytes` holds `part` anywhere.
func contains(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
    guard !part.isEmpty, bytes.count >= part.count else { return false }
    return (0...(bytes.count - part.count)).contains { start in bytes[start..<start + part.count].elementsEqual(part) }
}
