// libFuzzer target: the terminal sanitiser. Whatever the bytes, the output holds no C0 control
// (bar LF and TAB in multi-line text), no DEL and no C1 control; JSON output none either.
import WardenSupport

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzTerminal(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for layout in [TerminalText.Layout.singleLine, .multiLine] {
        let safe = TerminalText.safe(bytes: bytes, layout: layout)
        check(Array(safe.utf8), allowing: layout == .multiLine ? [0x0A, 0x09] : [])
        guard TerminalText.safe(safe, layout: layout) == safe else { fatalError("not idempotent") }
    }
    let text = String(decoding: bytes, as: UTF8.self)
    check(Array(JSONValue.string(text).serialized(pretty: false).utf8), allowing: [])
    return 0
}

/// Crashes when `output` holds a byte a terminal would act on.
func check(_ output: [UInt8], allowing allowed: Set<UInt8>) {
    for (index, byte) in output.enumerated() {
        let c0 = byte < 0x20 && !allowed.contains(byte)
        let c1 = byte == 0xC2 && index + 1 < output.count && (0x80...0x9F).contains(output[index + 1])
        if c0 || byte == 0x7F || c1 { fatalError("control byte \(byte) at \(index)") }
    }
}
