// libFuzzer target: the crontab transform. resume(pause(text)) gives text back exactly, for any
// text (as the Workers module on main reads it: a String) and any of a few patterns.
import Workers

let patterns = ["app-cli", "a", ".", "^x", "cli$", "[0-9]", "report"].map { try! WorkerPattern($0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCrontab(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let pattern = patterns[Int(data[0]) % patterns.count]
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let pauseID = "fuzz"
    // A crontab already carrying this pause's marker is not one a new pause meets (the id is new).
    guard !text.contains(CrontabPause.marker(for: pauseID)) else { return 0 }
    guard let paused = try? CrontabPause.pause(text, patterns: [pattern], pauseID: pauseID) else { return 0 }
    let resumed = CrontabPause.resume(paused.text, pauseID: pauseID, paused: paused.lines)
    guard resumed.text == text else {
        fatalError("pause∘resume changed \(text.debugDescription) into \(resumed.text.debugDescription)")
    }
    guard resumed.lines.allSatisfy({ $0.state == .paused }) else { fatalError("a line not restored") }
    return 0
}
