/// Words quoted as a POSIX shell needs them, so that a logged command can be pasted back:
/// `sh -c 'sleep 4; exec alembic upgrade head'`, not `sh -c sleep 4; exec …`.
package enum ShellQuoting {
    /// One word: as it is when it holds only characters no shell treats specially, else in single quotes.
    package static func quote(_ word: String) -> String {
        let plain =
            !word.isEmpty
            && word.unicodeScalars.allSatisfy { scalar in
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "@%+=:,./_-".unicodeScalars.contains(scalar)
            }
        return plain ? word : "'" + word.replacing("'", with: "'\\''") + "'"
    }

    /// Several words, each quoted, separated by spaces.
    package static func command(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }
}
