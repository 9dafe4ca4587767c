import ArgumentParser
import Testing

@testable import pgwarden

@Suite("LocksFastPath")
struct LocksFastPathTests {
    /// What swift-argument-parser makes of `arguments`: the `locks` request, or nil for anything else
    /// (an error, help, another command).
    private func parsed(_ arguments: [String]) -> LocksRequest? {
        (try? PGWarden.parseAsRoot(arguments) as? PGWarden.Locks)?.request
    }

    @Test(
        "the forms the fast path reads give the request swift-argument-parser gives",
        arguments: [
            ["locks"],
            ["locks", "--json"],
            ["locks", "--all-databases"],
            ["locks", "--json", "--all-databases"],
            ["locks", "--all-databases", "--json"],
            ["locks", "--dsn", "host=/tmp port=5432 dbname=app"],
            ["locks", "--dsn=host=/tmp port=5432"],
            ["locks", "--json", "--dsn", "postgresql://u@h:5/db?sslmode=disable"],
            ["locks", "--dsn", "dbname=x", "--json"],
            ["locks", "--dsn", "locks", "--all-databases", "--json"],
            ["locks", "--dsn", "help"],
            ["locks", "--dsn=a=b=c"],
            ["locks", "--dsn", "é ü \u{301}x"],
        ]
    )
    func sameRequest(arguments: [String]) throws {
        let fast = try #require(LocksFastPath.parse(arguments))
        #expect(fast == parsed(arguments))
    }

    @Test(
        "everything else is left to swift-argument-parser",
        arguments: [
            [],
            ["--version"],
            ["help", "locks"],
            ["locks", "--help"],
            ["locks", "-h"],
            ["locks", "help"],
            ["locks", "--json", "--json"],
            ["locks", "--all-databases", "--all-databases"],
            ["locks", "--dsn"],
            ["locks", "--dsn", ""],
            ["locks", "--dsn="],
            ["locks", "--dsn", " "],
            ["locks", "--dsn= \t"],
            ["locks", "--json", "--dsn", "\n"],
            ["locks", "--dsn", "--json"],
            ["locks", "--dsn", "-x"],
            ["locks", "--dsn=-x"],
            ["locks", "--dsn", "a", "--dsn", "b"],
            ["locks", "--dsn=a", "--dsn=b"],
            ["locks", "--watch"],
            ["locks", "--json", "--watch", "--interval", "1s"],
            ["locks", "--interval", "2s"],
            ["locks", "--"],
            ["locks", "--js"],
            ["locks", "-json"],
            ["locks", "--JSON"],
            ["locks", "extra"],
            ["locks", "--generate-completion-script", "bash"],
            ["--json", "locks"],
            ["status"],
            ["LOCKS", "--json"],
        ]
    )
    func leftToTheParser(arguments: [String]) {
        #expect(LocksFastPath.parse(arguments) == nil)
    }

    @Test(
        "an empty or blank --dsn is refused in every form, never read as libpq's environment",
        arguments: [
            ["locks", "--dsn", ""], ["locks", "--dsn="], ["locks", "--dsn", " "], ["locks", "--dsn=\t"],
            ["locks", "--json", "--dsn", ""], ["locks", "--dsn=", "--json"], ["locks", "--watch", "--dsn", ""],
            ["cancel", "--dsn", "", "1"], ["cancel", "--dsn=", "1"],
        ]
    )
    func emptyConnectionStringRefused(arguments: [String]) {
        #expect(LocksFastPath.parse(arguments) == nil)
        #expect(throws: (any Error).self) { try PGWarden.parseAsRoot(arguments) }
        // The same line with a connection string in it parses: the empty value is what is refused.
        let filled = arguments.map {
            $0.hasPrefix("--dsn=") ? "--dsn=dbname=x" : $0.allSatisfy(\.isWhitespace) ? "dbname=x" : $0
        }
        #expect(throws: Never.self) { try PGWarden.parseAsRoot(filled) }
    }
}
