import Testing
import WardenSupport

@Suite("Shell quoting of logged commands")
struct ShellQuotingTests {
    @Test("a command is logged as a shell would need it")
    func quoting() {
        #expect(
            ShellQuoting.command(["sh", "-c", "sleep 4; exec alembic upgrade head"])
                == "sh -c 'sleep 4; exec alembic upgrade head'"
        )
        #expect(
            ShellQuoting.command([".ve/bin/alembic", "-x", "db=shop", "upgrade", "head"])
                == ".ve/bin/alembic -x db=shop upgrade head"
        )
        #expect(ShellQuoting.quote("it's") == "'it'\\''s'")
        #expect(ShellQuoting.quote("") == "''")
        #expect(ShellQuoting.quote("$HOME") == "'$HOME'")
    }
}
