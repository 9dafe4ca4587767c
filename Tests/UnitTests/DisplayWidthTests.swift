import Testing
import WardenSupport

/// Terminal columns, as a terminal draws them.
@Suite("Display width")
struct DisplayWidthTests {
    @Test(
        "wide, narrow and zero-width characters",
        arguments: [
            ("orders", 6), ("注文", 4), ("リポート", 8), ("보고서", 6), ("ＡＢ", 4), ("é", 1), ("e\u{301}", 1),
            ("👍", 2), ("☺\u{FE0F}", 2), ("a\u{200B}b", 2), ("", 0), ("…", 1),
            // Wide outside the BMP's CJK blocks: Tangut, Khitan, kana supplement, Nüshu, enclosed ideographs.
            ("\u{17000}", 2), ("\u{18B00}", 2), ("\u{1B000}", 2), ("\u{1B170}", 2), ("\u{1F200}", 2),
            ("\u{16FE0}", 2),
        ]
    )
    func columns(text: String, expected: Int) {
        #expect(DisplayWidth.columns(of: text) == expected)
    }

    @Test("a prefix never ends inside a wide character, nor runs past the limit")
    func prefix() {
        #expect(DisplayWidth.prefix("注文の一覧", columns: 5) == "注文")
        #expect(DisplayWidth.prefix("注文の一覧", columns: 6) == "注文の")
        #expect(DisplayWidth.prefix("abc", columns: 10) == "abc")
        #expect(DisplayWidth.prefix("e\u{301}x", columns: 1) == "e\u{301}")
        #expect(DisplayWidth.prefix("注", columns: 1) == "")
    }
}
