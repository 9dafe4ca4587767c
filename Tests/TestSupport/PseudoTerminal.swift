import Foundation

/// Runs the built `pgwarden` on a pseudo-terminal (util-linux `script`), as an operator's terminal
/// would see it, and returns the exact bytes it wrote there.
package enum PseudoTerminal {
    /// What the terminal received, byte for byte, and the exit status.
    package struct Output: Sendable {
        package let status: Int32
        package let bytes: [UInt8]

        /// The bytes as text (for messages and `contains`).
        package var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// `pgwarden arguments…` with its standard output and error on one pseudo-terminal.
    package static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Output {
        try await onDedicatedThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            let command = ([PGWardenCommand.executable.path] + arguments).map(shellQuoted).joined(separator: " ")
            process.arguments = ["--quiet", "--return", "--command", command, "/dev/null"]
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Output(status: process.terminationStatus, bytes: Array(data))
        }
    }

    /// The bytes of `output` that a terminal would act on as control characters: C0 but CR, LF and
    /// TAB (the pty itself turns `\n` into `\r\n`), DEL, and UTF-8 encoded C1 (`C2 80`…`C2 9F`).
    ///
    /// pgwarden's own cursor movements that keep the status line and question below the log
    /// (`ESC [ n A`, `ESC [ J`) are not counted: outside text can never produce them, since every
    /// ESC from outside is shown as `\e`.
    package static func controlBytes(in bytes: [UInt8]) -> [UInt8] {
        var found: [UInt8] = []
        var skipUntil = -1
        for (index, byte) in bytes.enumerated() {
            if index < skipUntil { continue }
            if byte == 0x1B, let end = ownCursorMovement(in: bytes, at: index) {
                skipUntil = end
                continue
            }
            if (byte < 0x20 && ![0x0A, 0x0D, 0x09].contains(byte)) || byte == 0x7F {
                found.append(byte)
            } else if byte == 0xC2, index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
                found.append(bytes[index + 1])
            }
        }
        return found
    }

    /// The end of `ESC [ digits A`, `ESC [ J` or `ESC [ ? 2004 h/l` starting at `index`, if that is what is there.
    private static func ownCursorMovement(in bytes: [UInt8], at index: Int) -> Int? {
        guard index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "[") else { return nil }
        // Bracketed paste on and off, around the operator's question.
        for marker in ["[?2004h", "[?2004l"] where bytes[(index + 1)...].starts(with: marker.utf8) {
            return index + 1 + marker.utf8.count
        }
        var cursor = index + 2
        while cursor < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[cursor]) { cursor += 1 }
        guard cursor < bytes.count else { return nil }
        if bytes[cursor] == UInt8(ascii: "A"), cursor > index + 2 { return cursor + 1 }
        if bytes[cursor] == UInt8(ascii: "J"), cursor == index + 2 { return cursor + 1 }
        return nil
    }

    private static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
