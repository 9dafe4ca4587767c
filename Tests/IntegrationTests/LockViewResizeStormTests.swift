import Foundation
import TestSupport
import Testing

extension LockViewTerminalTests {
    @Test(
        "300 resizes down to 1x1 with keys, ending at 80x24: the last size wins (header, root blocker and footer at 80x24)",
        arguments: [1, 2, 3]
    )
    func resizeStorm(trial: Int) async throws {
        try await ScratchDatabase.with { database in
            let pile = try await Self.pileUp(in: database, readers: 10)
            let pane = try await TmuxPane.start()
            defer { pane.close() }
            try pane.run(Self.command(database))
            try await pane.waitForScreen("the view is up") { $0.first?.contains("11 waiting, 1 root") == true }
            var generator = SystemRandomNumberGenerator()
            // One tmux invocation, many commands: the resizes come as fast as tmux makes them.
            var commands: [String] = []
            for index in 0..<300 {
                let columns = index % 50 == 49 ? 1 : Int.random(in: 1...120, using: &generator)
                let rows = index % 50 == 49 ? 1 : Int.random(in: 1...40, using: &generator)
                commands += ["resize-window", "-t", "test", "-x", "\(columns)", "-y", "\(rows)", ";"]
                if index % 10 == 0 { commands += ["send-keys", "-t", "test", index % 20 == 0 ? "Down" : "Up", ";"] }
            }
            commands += ["resize-window", "-t", "test", "-x", "80", "-y", "24"]
            if trial == 1 {
                try pane.tmux(commands)
            } else {
                // One tmux invocation per command: the storm spread over a few seconds, as a person's.
                for command in commands.split(separator: ";") { try pane.tmux(Array(command)) }
            }

            let screen = try await pane.waitForScreen("the view redraws at 80x24", timeout: .seconds(10)) { screen in
                screen.count >= 24 && screen[0].hasPrefix("pgwarden locks") && screen[0].contains("11 waiting, 1 root")
                    && screen[2].contains(" \(pile.readerPID) ") && screen[23].hasPrefix("↑↓ select")
            }
            #expect(screen.prefix(24).allSatisfy { $0.count <= 80 }, "\(screen.joined(separator: "\n"))")
            try pane.press("q")
            try await pile.release()
        }
    }
}
