import Testing
import WardenSupport

@Suite("TerminalText")
struct TerminalTextTests {
    @Test("shows ESC, CSI, OSC, BEL, DEL and C1 visibly")
    func showsControls() {
        #expect(TerminalText.safe("\u{1B}[2Jgone") == "\\e[2Jgone")
        #expect(TerminalText.safe("\u{1B}]0;title\u{07}") == "\\e]0;title\\x07")
        #expect(TerminalText.safe("\u{1B}]52;c;cHduZWQ=\u{1B}\\") == "\\e]52;c;cHduZWQ=\\e\\")
        #expect(TerminalText.safe("a\u{9B}31mb") == "a\\u{9b}31mb")
        #expect(TerminalText.safe("\u{7F}\u{0}") == "\\x7f\\x00")
        #expect(TerminalText.safe("x\u{202E}y") == "x\\u{202e}y")
    }

    @Test("single-line fields show line breaks and tabs; multi-line text keeps them")
    func layouts() {
        #expect(TerminalText.safe("a\nb\tc\rd") == "a\\nb\\tc\\rd")
        #expect(TerminalText.safe("a\nb\tc\rd", layout: .multiLine) == "a\nb\tc\\rd")
        #expect(TerminalText.safe("a\r\nb", layout: .multiLine) == "a\\r\nb")
    }

    @Test("leaves ordinary text, Unicode and backslashes alone")
    func leavesText() {
        for text in ["SELECT * FROM t WHERE x = 'é'", "pid 1 · waits 1.5s", "E'\\\\n'", "日本語", ""] {
            #expect(TerminalText.safe(text) == text)
            #expect(TerminalText.isSafe(text))
        }
    }

    @Test("no scalar of the output is a control character, for every scalar below U+00A0 and invalid UTF-8")
    func neverAControl() {
        var all = (0..<0xA0).compactMap { Unicode.Scalar($0) }.map(String.init).joined()
        all += "\u{2028}\u{2029}\u{2066}\u{2069}"
        for layout in [TerminalText.Layout.singleLine, .multiLine] {
            let output = TerminalText.safe(all, layout: layout)
            for scalar in output.unicodeScalars {
                let allowed = layout == .multiLine && (scalar == "\n" || scalar == "\t")
                #expect(allowed || !(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)))
            }
        }
        let bytes: [UInt8] = [0x1B, 0x5B, 0xC2, 0x9B, 0xFF, 0xC2]
        #expect(TerminalText.safe(bytes: bytes) == "\\e[\\u{9b}\u{FFFD}\u{FFFD}")
    }

    @Test("JSON escapes every control character exactly, so it is inert on a terminal too")
    func json() {
        let value = JSONValue.string("\u{1B}[2J\u{9B}\u{7F}\u{2028}é")
        #expect(value.serialized(pretty: false) == "\"\\u001b[2J\\u009b\\u007f\\u2028é\"")
    }

    @Test("a long value is cut at 200 characters with its size; a short one is only made safe; a line at 2,000")
    func longValues() {
        #expect(TerminalText.value("short\u{1B}") == "short\\e")
        let huge = String(repeating: "é", count: 300)
        #expect(TerminalText.value(huge) == String(repeating: "é", count: 200) + "… (600 bytes)")
        #expect(TerminalText.line(String(repeating: "a", count: 2_000)) == String(repeating: "a", count: 2_000))
        #expect(
            TerminalText.line(String(repeating: "a", count: 2_001)) == String(repeating: "a", count: 2_000)
                + "… (2001 bytes in all)"
        )
    }
}
