import Testing
import Workers

/// How a bounded command's end is told: an exit status above 128 (ssh's 255) is not a signal.
@Suite("A bounded command's end, described")
struct BoundedCommandTests {
    @Test("exit status 255 (ssh's own failure) is an exit status, not signal 127")
    func highExitStatus() async throws {
        let result = try await BoundedCommand(["/bin/sh", "-c", "exit 255"], timeout: .seconds(30)).run()
        #expect(result.status == 255)
        #expect(result.description == "exit status 255")
    }

    @Test("a command killed by a signal is said to have ended by it")
    func killedBySignal() async throws {
        let result = try await BoundedCommand(["/bin/sh", "-c", "kill -9 $$"], timeout: .seconds(30)).run()
        #expect(result.status == 137)
        #expect(result.description == "ended by signal 9")
    }

    @Test("a huge output keeps its first lines and its last ones (a remote step's answer), the rest counted")
    func hugeOutputKeepsItsEnd() async throws {
        let script = "i=0; while [ $i -lt 1000 ]; do echo line $i; i=$((i + 1)); done; echo the-answer"
        let result = try await BoundedCommand(["/bin/sh", "-c", script], timeout: .seconds(30)).run()
        #expect(result.output.count == BoundedCommand.outputLimit + 1 + BoundedCommand.tailLimit)
        #expect(result.output.first == "line 0")
        #expect(result.output.last == "the-answer")
        #expect(result.output.contains("(781 lines of output left out)"))
    }
}
