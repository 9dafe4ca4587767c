import Foundation
import Testing

@testable import WaitGraph

/// The progress of a root blocker's statement, and the time its phase has left at its rate so far.
@Suite("Backend progress")
struct BackendProgressTests {
    static let scanning = BackendProgress(
        command: "CREATE INDEX",
        phase: "building index: scanning table",
        done: 4000,
        total: 10000,
        unit: "blocks",
        relation: "public.big",
        runningSeconds: 2
    )

    @Test("a phase that began with the statement: its time left at the rate so far")
    func firstPhase() throws {
        #expect(Self.scanning.fraction == 0.4)
        #expect(abs(try #require(Self.scanning.phaseSecondsLeft) - 3) < 1e-9)
        #expect(
            Self.scanning.text
                == "CREATE INDEX on public.big, building index: scanning table 40% (4000 of 10000 blocks), running 2s;"
                + " this phase ~3s left at its rate so far, later phases not counted"
        )
        #expect(Self.scanning.shortText == "CREATE INDEX 40% ~3s left in this phase")
    }

    @Test("a later phase: percent only, since the views never say when it began")
    func laterPhase() {
        let loading = BackendProgress(
            command: "CREATE INDEX",
            phase: "building index: loading tuples in tree",
            done: 50,
            total: 200,
            unit: "tuples",
            runningSeconds: 9
        )
        #expect(loading.phaseSecondsLeft == nil)
        #expect(
            loading.text == "CREATE INDEX, building index: loading tuples in tree 25% (50 of 200 tuples), running 9s"
        )
        let sorting = BackendProgress(
            command: "CREATE INDEX",
            phase: "building index: sorting live tuples",
            runningSeconds: 4
        )
        #expect(sorting.fraction == nil && sorting.phaseSecondsLeft == nil)
        #expect(sorting.shortText == "CREATE INDEX")
        // CONCURRENTLY waits for writers before it scans: the statement's time is not the scan's.
        var concurrent = Self.scanning
        concurrent.command = "CREATE INDEX CONCURRENTLY"
        #expect(concurrent.phaseSecondsLeft == nil)
    }

    @Test("the other views' first phases, and COPY without phases")
    func otherCommands() throws {
        for (command, phase) in [
            ("VACUUM FULL", "seq scanning heap"), ("CLUSTER", "seq scanning heap"), ("VACUUM", "scanning heap"),
            ("ANALYZE", "acquiring sample rows"), ("REINDEX", "building index: scanning table"),
        ] {
            let progress = BackendProgress(command: command, phase: phase, done: 1, total: 4, runningSeconds: 10)
            #expect(progress.phaseSecondsLeft == 30, "\(command)")
        }
        let copy = BackendProgress(
            command: "COPY FROM",
            done: 100_000_000,
            total: 400_000_000,
            unit: "bytes",
            runningSeconds: 1
        )
        #expect(
            copy.text
                == "COPY FROM 25% (100000000 of 400000000 bytes), running 1s; this phase ~3s left at its rate so far"
        )
        let streaming = BackendProgress(command: "COPY FROM", done: 5000, unit: "tuples", runningSeconds: 1)
        #expect(streaming.phaseSecondsLeft == nil)
        #expect(streaming.text == "COPY FROM (5000 tuples so far), running 1s")
    }

    @Test("too little done for a rate: no estimate")
    func startUp() {
        var early = Self.scanning
        early.done = 100
        #expect(early.phaseSecondsLeft == nil)
    }

    @Test("JSON: every key, null where not known")
    func json() {
        #expect(
            Self.scanning.json.serialized()
                == #"{"command":"CREATE INDEX","phase":"building index: scanning table","relation":"public.big","done":4000,"total":10000,"unit":"blocks","percent":40,"running_seconds":2,"phase_seconds_left":3}"#
        )
    }

    @Test("the tree shows a root blocker's progress below its query, and the summary line in short")
    func rendering() {
        var snapshot = LockSnapshot(
            observing: [WaitGraphTests.session(456), WaitGraphTests.session(123, waitsOn: [456], seconds: 1.5)],
            takenAt: WaitGraphTests.now,
            databaseOID: nil
        )
        snapshot.blockers[0].progress = Self.scanning
        let tree = LockForestRenderer().render(snapshot, scope: "appdb")
        #expect(tree.contains("\n│  progress: CREATE INDEX on public.big, building index: scanning table 40%"))
        #expect(
            LockForestRenderer().summaryLine(snapshot).contains(
                "root pid 456 · active 29s · xact 30s (CREATE INDEX 40% ~3s left in this phase) blocks 1"
            )
        )
    }
}
