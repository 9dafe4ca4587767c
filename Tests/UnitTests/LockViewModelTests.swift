import Foundation
import Response
import Testing
import WaitGraph
import WardenSupport

@testable import LockView

/// The full-screen lock view's state machine and screen, without a terminal or a server.
@Suite("Lock view")
struct LockViewModelTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let size = ScreenSize(rows: 24, columns: 80)

    static func session(
        _ pid: Int32,
        waitsOn blockers: [Int32]? = nil,
        seconds: Double = 1,
        xact: Double = 30,
        state: String = "active",
        user: String = "shop_owner",
        database: String = "shop_production",
        application: String = "psql",
        query: String = "SELECT * FROM orders WHERE customer_id = 42 AND created_at > now() - interval '1 day'",
        mode: String = "AccessShareLock"
    ) -> ObservedSession {
        ObservedSession(
            pid: pid,
            request: blockers.map {
                LockRequest(
                    blockedBy: $0,
                    waitingSeconds: seconds,
                    lock: LockTarget(locktype: "relation", mode: mode, relation: "public.orders")
                )
            },
            activity: SessionActivity(
                databaseOID: 5,
                state: state,
                xactSeconds: xact,
                stateSeconds: xact,
                usename: user,
                datname: database,
                applicationName: application,
                backendType: "client backend",
                query: query
            )
        )
    }

    /// The outage of the issue: a reader idle in transaction, an ALTER queued behind it, 40 readers behind that.
    static func pileUp(readers: Int = 40) -> LockSnapshot {
        var sessions = [
            session(
                100,
                state: "idle in transaction",
                application: "billing-worker",
                query: "SELECT count(*) FROM orders"
            ),
            session(
                200,
                waitsOn: [100],
                seconds: 50,
                xact: 50,
                application: "alembic",
                query: "ALTER TABLE orders ADD COLUMN c int",
                mode: "AccessExclusiveLock"
            ),
        ]
        for index in 0..<readers {
            sessions.append(
                session(
                    Int32(300 + index),
                    waitsOn: [200],
                    seconds: Double(40 - index % 40),
                    xact: Double(index),
                    application: "web-\(index)"
                )
            )
        }
        return LockSnapshot(observing: sessions, takenAt: now, databaseOID: 5)
    }

    static func model(_ snapshot: LockSnapshot = pileUp(), size: ScreenSize = size) -> LockViewModel {
        var model = LockViewModel(scope: "shop_production", size: size, now: now)
        _ = model.update(.snapshot(snapshot, elsewhere: []))
        return model
    }

    static func press(_ model: inout LockViewModel, _ keys: Key...) -> [LockViewAction] {
        keys.flatMap { model.update(.key($0)) }
    }

    @Test("80x24 with 41 waiters: 24 lines of at most 80 columns; header and root blocker stay while the rest scrolls")
    func rootStaysOnScreen() {
        var model = Self.model()
        let screen = LockViewScreen()
        let first = screen.lines(model)
        #expect(first.count == 24)
        #expect(first[0].contains("pgwarden locks") && first[0].contains("41 waiting, 1 root"))
        #expect(first[1].contains("PID") && first[1].contains("USER@DB") && first[1].contains("APP"))
        #expect(Self.plain(first[2]).contains(" 100 ") && Self.plain(first[2]).contains("billing-worker"))
        _ = Self.press(&model, .end)
        #expect(model.selectedPID == 339 || model.selectedRow?.depth == 2)
        let scrolled = screen.lines(model).map(Self.plain)
        #expect(scrolled.count == 24)
        #expect(scrolled[0].hasPrefix("pgwarden locks"))
        #expect(scrolled[2].contains(" 100 "), "the root blocker is still on line 3: \(scrolled[2])")
        #expect(scrolled.contains { $0.hasPrefix(">") && $0.contains(" \(model.selectedPID!) ") })
        #expect(!scrolled.contains { $0.contains(" 200 ") && $0.contains("alembic") }, "the ALTER scrolled away")
        for line in first.map(Self.plain) + scrolled { #expect(line.count <= 80, "\(line)") }
    }

    @Test("at 80 columns each row keeps user@db and the application whole; the query is cut")
    func identityKept() {
        let lines = LockViewScreen().lines(Self.model()).map(Self.plain)
        let rows = lines[2..<21]
        for line in rows where !line.contains("behind") {
            #expect(line.contains("shop_owner@shop_production"), "\(line)")
            #expect(line.contains("billing-worker") || line.contains("alembic") || line.contains("web-"), "\(line)")
        }
        #expect(rows.contains { $0.hasSuffix("…") })
    }

    @Test("names and queries in Chinese and Japanese: every line fits 80 columns as a terminal draws it")
    func wideText() {
        var sessions = [
            Self.session(
                100,
                state: "idle in transaction",
                user: "経理部",
                application: "月次レポート",
                query: "SELECT * FROM 注文"
            ),
            Self.session(200, waitsOn: [100], application: "alembic", query: "ALTER TABLE 注文 ADD COLUMN 備考 text"),
        ]
        for index in 0..<10 {
            sessions.append(
                Self.session(
                    Int32(300 + index),
                    waitsOn: [200],
                    database: "商店",
                    application: "ウェブ-\(index)",
                    query: "SELECT 数量, 価格 FROM 注文 WHERE 顧客番号 = 42 AND 作成日時 > now() - interval '1 day'"
                )
            )
        }
        let lines = LockViewScreen().lines(
            Self.model(LockSnapshot(observing: sessions, takenAt: Self.now, databaseOID: 5))
        )
        .map(Self.plain)
        #expect(lines.count == 24)
        for line in lines { #expect(DisplayWidth.columns(of: line) <= 80, "\(line)") }
        #expect(lines.contains { $0.contains("経理部@shop_production") && $0.contains("月次レポート") })
        #expect(lines.contains { $0.contains("ウェブ-9") && $0.hasSuffix("…") })
    }

    @Test("t asks the server who the session is, then y/n; only y signals, and exactly the selected session")
    func confirmTerminate() {
        var model = Self.model()
        _ = Self.press(&model, .down, .character("j"))
        let pid = try! #require(model.selectedPID)
        #expect(pid != 100 && pid != 200)
        #expect(Self.press(&model, .character("t")) == [.lookUpIdentity(pid: pid, kind: .terminate), .redraw])
        let identity = ShownSession(
            pid: pid,
            user: "shop_owner",
            database: "shop_production",
            application: "web-0",
            state: "active",
            backendStart: Self.now.addingTimeInterval(-60),
            queryStart: Self.now.addingTimeInterval(-5)
        )
        _ = model.update(.identity(pid: pid, identity))
        let question = LockViewScreen().lines(model).map(Self.plain)
        #expect(question[23] == "Terminate pid \(pid)? (y/n)")
        #expect(question[21].contains("pid \(pid) · shop_owner@shop_production · app web-0 · active"))
        #expect(question[22].contains("backend start 2027-01-15 07:59:00Z"))
        // Enter, an unknown key, q and a new snapshot do not answer.
        #expect(!Self.press(&model, .enter, .character("x"), .character("q"), .character(" ")).contains(.quit))
        _ = model.update(.snapshot(Self.pileUp(), elsewhere: []))
        #expect(model.pending == .confirming(identity, .terminate))
        #expect(Self.press(&model, .character("y")) == [.signal(identity, .terminate), .redraw])
        _ = model.update(.signalFinished(pid: pid, succeeded: true, report: "terminated pid \(pid)"))
        #expect(model.pending == nil && model.message == "terminated pid \(pid)")
    }

    @Test("c on a session a running pgwarden upgrade claims: the question says it is that migration, and whose")
    func confirmOnAMigration() {
        var model = Self.model()
        _ = Self.press(&model, .character("c"))
        var identity = ShownSession(pid: 100, user: "app", database: "shop", application: "pgwarden-migration-R1")
        identity.claim = UpgradeClaim(
            holderPID: 7,
            holderRole: "pgwarden",
            holderApplicationName: "pgwarden-upgrade-R1"
        )
        _ = model.update(.identity(pid: 100, identity))
        let question = LockViewScreen().lines(model).map(Self.plain)
        #expect(question[23] == "Cancel pid 100: migration of pgwarden upgrade R1? (y/n)")
        #expect(question[22].contains("claimed by role pgwarden, pid 7"))
        let long = "20261207T052139Z-aa8a"
        identity.claim = UpgradeClaim(
            holderPID: 7,
            holderRole: "pgwarden",
            holderApplicationName: "pgwarden-upgrade-" + long
        )
        _ = Self.press(&model, .character("n"))
        _ = Self.press(&model, .character("c"))
        _ = model.update(.identity(pid: 100, identity))
        #expect(
            LockViewScreen().lines(model).map(Self.plain)[23]
                == "Cancel pid 100: migration of pgwarden upgrade \(long)? (y/n)"
        )
        // Named like a migration, without a claim: just the name, as any session.
        _ = Self.press(&model, .character("n"))
        _ = Self.press(&model, .character("c"))
        identity.claim = nil
        _ = model.update(.identity(pid: 100, identity))
        #expect(LockViewScreen().lines(model).map(Self.plain)[23] == "Cancel pid 100? (y/n)")
    }

    @Test("n or Escape sends nothing; a session gone before the question sends nothing")
    func declineAndGone() {
        var model = Self.model()
        _ = Self.press(&model, .character("c"))
        _ = model.update(.identity(pid: 100, ShownSession(pid: 100)))
        let actions = Self.press(&model, .character("n"))
        #expect(!actions.contains { if case .signal = $0 { true } else { false } })
        #expect(model.pending == nil && model.message == "nothing sent to pid 100")
        _ = Self.press(&model, .character("t"))
        _ = model.update(.identity(pid: 100, nil))
        #expect(model.pending == nil && model.message == "pid 100 has gone: nothing sent")
        #expect(Self.press(&model, .character("y")).isEmpty)
    }

    @Test("space pauses: snapshots are kept aside until it resumes")
    func pause() {
        var model = Self.model()
        _ = Self.press(&model, .character(" "))
        _ = model.update(.snapshot(Self.pileUp(readers: 3), elsewhere: []))
        #expect(model.shown?.waits.count == 41 && model.paused)
        #expect(LockViewScreen().lines(model)[0].contains("PAUSED"))
        _ = Self.press(&model, .character(" "))
        #expect(model.shown?.waits.count == 4 && !model.paused)
    }

    @Test("s sorts by wait or by transaction age; / filters by database, user or application")
    func sortAndFilter() {
        var model = Self.model()
        let readers = { (model: LockViewModel) in model.rows.filter { $0.depth == 2 }.map(\.pid) }
        #expect(readers(model).first == 300)  // waited 40s, the longest
        _ = Self.press(&model, .character("s"))
        #expect(model.sort == .transactionAge && readers(model).first == 339)  // xact 39s, the oldest
        _ = Self.press(&model, .character("/"), .character("w"), .character("e"), .character("b"), .character("-"))
        _ = Self.press(&model, .character("7"), .enter)
        #expect(model.filter == "web-7")
        #expect(model.rows.map(\.pid) == [100, 200, 307])  // the match, and the tree above it
        _ = Self.press(&model, .escape)
        #expect(model.filter.isEmpty && model.rows.count == 42)
    }

    @Test("nothing waits here, something elsewhere: say where, and hint --all-databases")
    func elsewhere() {
        var model = LockViewModel(scope: "postgres", size: Self.size, now: Self.now)
        _ = model.update(
            .snapshot(LockSnapshot(takenAt: Self.now), elsewhere: [WaitsElsewhere(database: "shop", count: 41)])
        )
        let lines = LockViewScreen().lines(model).map(Self.plain)
        #expect(lines[2] == "No session is waiting on a lock in postgres.")
        #expect(lines[3] == "41 sessions wait on locks in other databases: shop (41).")
        #expect(lines[4].contains("--all-databases"))
        #expect(lines[23].hasPrefix("↑↓ select"), "the keys stay on the last line")
    }

    @Test("a cycle no root reaches is shown, marked; q quits; hostile text is made visible")
    func cycleAndHostileText() {
        let snapshot = LockSnapshot(
            observing: [
                Self.session(1, waitsOn: [2], application: "evil\u{1B}[2Japp", query: "SELECT 1;\u{1B}]0;owned\u{07}"),
                Self.session(2, waitsOn: [1]),
            ],
            takenAt: Self.now,
            databaseOID: 5
        )
        var model = Self.model(snapshot)
        #expect(model.rows.contains { $0.inCycle })
        let text = LockViewScreen().lines(model).joined()
        #expect(!text.contains("\u{1B}[2J") && !text.contains("\u{1B}]0") && !text.contains("\u{07}"))
        #expect(Self.press(&model, .character("q")) == [.quit])
        let summary = LockForestRenderer().summaryLine(snapshot)
        #expect(summary.contains("cycle (deadlock not yet detected)") && summary.contains("held by 2"))
    }

    @Test("ASCII: tree and separators without box-drawing characters")
    func ascii() {
        let rows = SessionTree(ascii: true).rows(Self.pileUp(readers: 2), sort: .wait)
        #expect(rows.map(\.connector) == ["", "`- ", "   |- ", "   `- "])
        var renderer = LockForestRenderer(width: 200)
        renderer.ascii = true
        let text = renderer.render(Self.pileUp(readers: 2), scope: "shop")
        let isASCII = text.unicodeScalars.allSatisfy { $0.isASCII }
        #expect(isASCII, "\(text)")
    }

    @Test("keys: arrows, page keys, a lone Escape, a sequence split across reads, UTF-8")
    func keys() {
        var decoder = KeyDecoder()
        #expect(
            decoder.decode(Array("\u{1B}[A\u{1B}[B\u{1B}OAjq".utf8)) == [
                .up, .down, .up, .character("j"), .character("q"),
            ]
        )
        #expect(decoder.decode(Array("\u{1B}[5~\u{1B}[6~\r\u{7F}".utf8)) == [.pageUp, .pageDown, .enter, .backspace])
        #expect(decoder.decode([0x1B]) == [.escape])
        #expect(decoder.decode([0x1B, UInt8(ascii: "[")]).isEmpty)
        #expect(decoder.decode([UInt8(ascii: "B")]) == [.down])
        #expect(decoder.decode(Array("é".utf8)) == [.character("é")])
    }

    /// The line without escape sequences.
    @Test("80 columns, long names and a filter: every row keeps a query column, the header its filter and clock")
    func narrowKeepsQueryAndHeader() {
        let database = "shop_production_eu_west_reporting_replica"
        var sessions = [
            Self.session(
                100,
                state: "idle in transaction",
                user: "billing_service_account",
                database: database,
                application: "billing-nightly-reconciliation-worker",
                query: "SELECT count(*) FROM orders"
            ),
            Self.session(
                200,
                waitsOn: [100],
                user: "migrations_owner_role",
                database: database,
                application: "pgwarden-migration-20261207T052139Z-aa8a",
                query: "ALTER TABLE orders ADD COLUMN c int",
                mode: "AccessExclusiveLock"
            ),
        ]
        for index in 0..<5 {
            sessions.append(
                Self.session(
                    Int32(300 + index),
                    waitsOn: [200],
                    user: "web_frontend_service_account",
                    database: database,
                    application: "gunicorn-worker-\(index)-of-the-web-tier",
                    query: "SELECT 1"
                )
            )
        }
        var model = LockViewModel(scope: database, size: Self.size, now: Self.now)
        _ = model.update(.snapshot(LockSnapshot(observing: sessions, takenAt: Self.now, databaseOID: 5), elsewhere: []))
        _ = Self.press(&model, .character("/"), .character("r"), .character("e"), .character("p"), .enter)
        let lines = LockViewScreen().lines(model).map(Self.plain)
        #expect(lines.allSatisfy { DisplayWidth.columns(of: $0) <= 80 })
        #expect(
            lines[0].contains("filter: rep")
                && lines[0].hasSuffix(String(LockViewScreen.time(Self.now).split(separator: " ").last!)),
            "\(lines[0])"
        )
        #expect(lines[0].contains("7 waiting") || lines[0].contains("6 waiting"), "\(lines[0])")
        // However narrow, the query column is there: its name (cut) and a start of each query.
        #expect(lines[1].hasSuffix(" QU…") || lines[1].hasSuffix(" QUERY"), "\(lines[1])")
        let queryColumn = lines[1].distance(from: lines[1].startIndex, to: lines[1].lastIndex(of: " ")!) + 1
        for line in lines[2..<9] {
            #expect(line.count >= queryColumn + 3, "no query column: \(line)")
        }
    }

    @Test("another role's session without pg_monitor: 'hidden', not '?', and the footer says why")
    func hiddenWithoutMonitor() {
        var hidden = Self.session(100, state: "idle in transaction", query: "<insufficient privilege>")
        hidden.activity?.state = nil
        hidden.activity?.xactSeconds = nil
        let sessions = [hidden, Self.session(200, waitsOn: [100], application: "alembic", query: "ALTER TABLE orders")]
        let model = Self.model(LockSnapshot(observing: sessions, takenAt: Self.now, databaseOID: 5))
        let lines = LockViewScreen().lines(model).map(Self.plain)
        let row = lines.first { $0.contains(" 100 ") } ?? ""
        #expect(row.contains(" hidden ") && !row.contains(" ? "), "\(row)")
        #expect(lines[21].contains("state hidden: pgwarden's role lacks pg_monitor · blocks"), "\(lines[21])")
    }

    static func plain(_ line: String) -> String {
        line.replacing(/\u{1B}\[[0-9;]*m/, with: "")
    }
}
