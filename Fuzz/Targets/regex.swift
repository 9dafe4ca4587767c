// libFuzzer target: pgwarden's regular expressions. Any bytes as an expression (up to the first
// NUL) and a text (the rest): compiling either refuses or succeeds, and a search always ends,
// within its budget, without a crash.
import WardenSupport

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzRegex(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let split = bytes.firstIndex(of: 0) ?? bytes.count
    let source = String(decoding: bytes[..<split], as: UTF8.self)
    let text = String(decoding: bytes[min(split + 1, bytes.count)...], as: UTF8.self)
    guard let expression = try? BoundedRegularExpression(source, budget: .seconds(2)) else { return 0 }
    let clock = ContinuousClock()
    let started = clock.now
    let outcome = expression.search(text)
    guard outcome != .gaveUp || clock.now - started >= .seconds(2) else {
        fatalError("gave up before its budget")
    }
    return 0
}
