/// How many terminal columns text takes, as a terminal draws it (what `wcwidth` answers): two for East
/// Asian wide and fullwidth characters and for emoji shown as emoji, none for combining marks, format
/// characters and joiners, one for everything else.
///
/// Used where text from outside must fit a screen's columns (the lock view): cutting by `Character`
/// count lets a row of Chinese or Japanese names run to twice the screen's width.
package enum DisplayWidth {
    /// The columns `text` takes.
    package static func columns(of text: some StringProtocol) -> Int {
        text.reduce(0) { $0 + columns(of: $1) }
    }

    /// The columns one character (grapheme cluster) takes: 0, 1 or 2.
    package static func columns(of character: Character) -> Int {
        let scalars = character.unicodeScalars
        if scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }  // VARIATION SELECTOR-16: as emoji
        guard let base = scalars.first(where: { !isZeroWidth($0) }) else { return 0 }
        return isWide(base) ? 2 : 1
    }

    /// The longest start of `text` that takes at most `columns` columns.
    package static func prefix(_ text: String, columns limit: Int) -> String {
        var used = 0
        var end = text.startIndex
        for index in text.indices {
            let width = columns(of: text[index])
            guard used + width <= limit else { break }
            used += width
            end = text.index(after: index)
        }
        return String(text[..<end])
    }

    /// `text` cut to at most `columns` columns, ending in `ellipsis` when cut, and never inside a number:
    /// a cut that would leave the start of one (`pid 1591` of `pid 15916`, `6.` of `6.3s`) goes back
    /// to before it, so that every figure shown is whole.
    package static func cut(_ text: String, columns limit: Int, ellipsis: String = "…") -> String {
        guard columns(of: text) > limit else { return text }
        var kept = prefix(text, columns: max(0, limit - columns(of: ellipsis)))
        let next = text.dropFirst(kept.count).first
        if let next, next.isNumber || (next == "." || next == ",") {
            // Inside a number when what follows continues one that the kept part ends with.
            while let last = kept.last, last.isNumber || ((last == "." || last == ",") && next.isNumber) {
                kept.removeLast()
            }
        }
        return kept + ellipsis
    }

    private static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: true
        default: scalar.value == 0x200B || (0x1160...0x11FF).contains(scalar.value)  // ZWSP; Hangul jungseong/jongseong
        }
    }

    private static func isWide(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isEmojiPresentation { return true }
        return wideRanges.contains { $0.contains(scalar.value) }
    }

    /// East Asian Width W and F (Unicode 15), in blocks: Hangul Jamo, CJK radicals to CJK compatibility,
    /// CJK ideographs and extensions, Yi, Hangul syllables, compatibility ideographs, vertical forms,
    /// CJK compatibility forms, fullwidth forms, ideographic symbols, Tangut and Khitan, the kana supplements
    /// and Nüshu, enclosed ideographs, and the supplementary ideographic planes.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF,
        0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
        0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FFF, 0x17000...0x18D7F,
        0x1AFF0...0x1B2FF, 0x1F200...0x1F2FF, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD,
        0x30000...0x3FFFD,
    ]
}
