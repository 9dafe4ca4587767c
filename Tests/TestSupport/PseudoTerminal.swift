import Foundation

/// Runs the built `pgwarden` on a pseudo-terminal (util-linux `script`), as an operator's terminal
/// would see it, and returns the exact bytes it wrote there.
public enum PseudoTerminal {
    /// What the terminal received, byte for byte, and the exit status.
    public struct Output: Sendable {
        public let status: Int32
        public let bytes: [UInt8]

        /// The bytes as text (for messages and `contains`).
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// `pgwarden arguments…` with its standard output and error on one pseudo-terminal.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Output {
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
    public static func controlBytes(in bytes: [UInt8]) -> [UInt8] {
        var found: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if (byte < 0x20 && ![0x0A, 0x0D, 0x09].contains(byte)) || byte == 0x7F {
                found.append(byte)
            } else if byte == 0xC2, index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
                found.append(bytes[index + 1])
            }
        }
        return found
    }

    private static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
