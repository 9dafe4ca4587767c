import LockInspection
import Postgres
import TestSupport
import Testing

/// pgwarden's sessions call only PostgreSQL's own functions: a function that a database user put
/// in `public` under a built-in's name, with a closer argument type, is never run by a poll (as
/// pgwarden's role) and cannot break it.
@Suite("Functions in public do not shadow the catalog's", .enabled(if: TestCluster.isAvailable, TestCluster.unavailableReason))
struct SearchPathTests {
    @Test("public.unnest(int4[]) and public.format(text, name, name): the poll runs neither and answers exactly")
    func shadowingFunctions() async throws {
        try await ScratchDatabase.with { database in
            let setup = try await database.session("mallory")
            _ = try await setup.query("CREATE TABLE public.calls (who text)")
            _ = try await setup.query(
                """
                CREATE FUNCTION public.unnest(a int4[]) RETURNS SETOF int8 LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO public.calls VALUES ('unnest'); RETURN QUERY SELECT x::int8 FROM pg_catalog.unnest(a) x; END $$
                """
            )
            _ = try await setup.query(
                """
                CREATE FUNCTION public.format(f text, a name, b name) RETURNS text LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO public.calls VALUES ('format'); RETURN pg_catalog.format(f, a, b); END $$
                """
            )
            let (reader, readerPID, _, alter) = try await database.alterBehindIdleReader("alembic")
            let inspector = try await database.inspector()

            for snapshot in [try await inspector.poll(), try await inspector.pollReadingLocks()] {
                let wait = try #require(snapshot.wait(of: alter.pid))
                #expect(wait.blockedBy == [readerPID])
                #expect(wait.lock.relation == "public.t")
            }
            #expect(try await setup.query("SELECT who FROM public.calls").rows.isEmpty)

            _ = try await reader.query("ROLLBACK")
            try await alter.task.value
        }
    }
}
