import Testing
import WardenSupport
import Workers

@Suite("A remote step counts as done only when the host confirms it for that pause")
struct RemoteAnswerConfirmationTests {
    let id = "20261207T170000Z-5e1d-w2"

    func confirm(_ answer: RemoteAnswer?, _ accepted: Set<String> = ["paused", "already-paused"]) throws -> String {
        try RemoteAnswer.confirm(answer, pause: id, step: "pause", host: "web2", accepting: accepted)
    }

    @Test("paused or already paused, for this pause: confirmed")
    func confirmed() throws {
        #expect(try confirm(RemoteAnswer(pauseID: id, state: "paused", said: [])) == "paused")
        #expect(try confirm(RemoteAnswer(pauseID: id, state: "already-paused", said: [])) == "already-paused")
        let resumed = try confirm(RemoteAnswer(pauseID: id, state: "not-paused", said: []), ["resumed", "not-paused"])
        #expect(resumed == "not-paused")
    }

    @Test("no answer, another pause's answer, or another state: an error naming the host, the step and the pause")
    func notConfirmed() {
        let cases: [(RemoteAnswer?, String)] = [
            (nil, "web2 did not confirm the pause of pause \(id): its pgwarden exited 0 with no answer it could read"),
            (
                RemoteAnswer(pauseID: "1other", state: "paused", said: []),
                "web2 answered the pause of pause \(id) for another pause ('1other')"
            ),
            (
                RemoteAnswer(pauseID: id, state: "not-paused", said: []),
                "web2 did not confirm the pause of pause \(id): it answered 'not-paused'"
            ),
            (
                RemoteAnswer(pauseID: id, state: "\u{1b}]52;c;x\u{7}", said: []),
                "web2 did not confirm the pause of pause \(id): it answered '\\e]52;c;x\\x07'"
            ),
        ]
        for (answer, message) in cases {
            #expect {
                _ = try confirm(answer)
            } throws: { error in
                let error = error as? OperatorError
                return error?.code == .remoteHost && error?.summary == message
            }
        }
    }
}
