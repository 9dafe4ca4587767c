import Testing
import WaitGraph

@Suite("Lock hazards: one line each, a holder named once")
struct LockHazardsUnitTests {
    @Test("an idle holder and the oldest transactions, longest first; the holder is not repeated as oldest")
    func lines() {
        var holder = LockHazards.Session(
            pid: 11,
            usename: "app",
            applicationName: "psql",
            state: "idle in transaction",
            transactionSeconds: 300,
            stateSeconds: 290,
            query: "SELECT * FROM t"
        )
        holder.relations = ["public.a", "public.b", "public.c", "public.d"]
        holder.strongestMode = "RowExclusiveLock"
        let old = LockHazards.Session(
            pid: 12,
            usename: "etl",
            applicationName: nil,
            state: "active",
            transactionSeconds: 42,
            stateSeconds: 42,
            query: "DELETE\n FROM  big"
        )
        let hazards = LockHazards(idleHolders: [holder], oldest: [holder, old])
        let lines = hazards.lines { $0 }
        #expect(lines.count == 2)
        #expect(
            lines[0]
                == "hazard: pid 11 (role app, application 'psql') is idle in transaction for 5 min (transaction open 5 min)"
                + " holding RowExclusiveLock on public.a, public.b, public.c and 1 more: a migration's"
                + " AccessExclusiveLock there waits for it, and every later query queues behind; only"
                + " pgwarden cancel --terminate 11 ends it"
        )
        #expect(lines[1] == "oldest transaction: pid 12 (role etl) open 42 s, active: DELETE FROM big")
        #expect(LockHazards(idleHolders: [], oldest: []).isEmpty)
    }
}
