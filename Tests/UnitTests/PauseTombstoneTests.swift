import FoundationEssentials
import Testing
import Workers

@Suite("A pause resumed before it arrived is refused when it comes; its tombstone goes after the pause's deadline")
struct PauseTombstoneTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    var tombstone: PauseTombstone { PauseTombstone(pauseID: "1run-w3", madeAt: now, notAfter: nil) }

    @Test("a pause: refused late, refused once cancelled, answered again when in force, else made")
    func pause() {
        let later = now.addingTimeInterval(60)
        #expect(RemoteSetDecision.pause(paused: false, tombstone: nil, notAfter: later, now: now) == .pause)
        #expect(RemoteSetDecision.pause(paused: false, tombstone: nil, notAfter: nil, now: now) == .pause)
        #expect(RemoteSetDecision.pause(paused: true, tombstone: nil, notAfter: later, now: now) == .alreadyPaused)
        #expect(
            RemoteSetDecision.pause(paused: false, tombstone: tombstone, notAfter: later, now: now) == .refuseCancelled
        )
        #expect(
            RemoteSetDecision.pause(paused: false, tombstone: tombstone, notAfter: nil, now: now) == .refuseCancelled
        )
        let past = now.addingTimeInterval(-1)
        #expect(RemoteSetDecision.pause(paused: false, tombstone: nil, notAfter: past, now: now) == .refuseLate)
        #expect(RemoteSetDecision.pause(paused: true, tombstone: nil, notAfter: past, now: now) == .refuseLate)
    }

    @Test("a resume: in force resumed; made and resumed already recognised; never made cancelled, again and again")
    func resume() {
        #expect(RemoteSetDecision.resume(paused: true, made: false, tombstone: nil) == .resume)
        #expect(RemoteSetDecision.resume(paused: true, made: true, tombstone: nil) == .resume)
        #expect(RemoteSetDecision.resume(paused: false, made: true, tombstone: nil) == .resumedAlready)
        #expect(RemoteSetDecision.resume(paused: false, made: false, tombstone: nil) == .cancel)
        #expect(RemoteSetDecision.resume(paused: false, made: false, tombstone: tombstone) == .cancel)
    }

    @Test("expires after the pause's deadline, or a week after it was made without one")
    func expiry() {
        let deadline = now.addingTimeInterval(121)
        let bounded = PauseTombstone(pauseID: "1run-w3", madeAt: now, notAfter: deadline)
        #expect(!bounded.isExpired(at: now))
        #expect(!bounded.isExpired(at: deadline))
        #expect(bounded.isExpired(at: deadline.addingTimeInterval(1)))
        #expect(!tombstone.isExpired(at: now.addingTimeInterval(6 * 24 * 3600)))
        #expect(tombstone.isExpired(at: now.addingTimeInterval(7 * 24 * 3600 + 1)))
    }

    @Test("a resume gives the pause's deadline when the journal has it")
    func deadlineArguments() {
        #expect(RemoteSet.deadlineArguments(1_800_000_121) == ["--not-after", "1800000121"])
        #expect(RemoteSet.deadlineArguments(nil) == [])
        #expect(RemoteSet.resumeAnswers == ["resumed", "not-paused", "cancelled"])
    }
}
