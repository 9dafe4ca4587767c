import Forecast
import Testing
import WaitGraph
import WardenSupport

@Suite("Redaction of query text")
struct QueryTextRedactionTests {
    @Test(
        "the literal after PASSWORD is masked, in every statement and literal form",
        arguments: [
            ("ALTER ROLE advr PASSWORD 'hunter2-secret'", "ALTER ROLE advr PASSWORD '***'"),
            ("alter user advr with password 'hunter2-secret';", "alter user advr with password '***';"),
            (
                "CREATE ROLE a LOGIN ENCRYPTED PASSWORD 'hunter2-secret' VALID UNTIL 'infinity'",
                "CREATE ROLE a LOGIN ENCRYPTED PASSWORD '***' VALID UNTIL 'infinity'"
            ),
            ("CREATE USER a PASSWORD E'hunter2\\'-secret' CREATEDB", "CREATE USER a PASSWORD '***' CREATEDB"),
            ("CREATE USER a PASSWORD 'it''s hunter2-secret' LOGIN", "CREATE USER a PASSWORD '***' LOGIN"),
            ("ALTER ROLE a PASSWORD $x$hunter2-secret$x$", "ALTER ROLE a PASSWORD '***'"),
            ("ALTER ROLE a PASSWORD $$hunter2-secret$$ LOGIN", "ALTER ROLE a PASSWORD '***' LOGIN"),
            ("ALTER ROLE a PASSWORD U&'hunter2-secret'", "ALTER ROLE a PASSWORD '***'"),
            ("ALTER ROLE a PASSWORD\n\t'hunter2-secret'", "ALTER ROLE a PASSWORD\n\t'***'"),
            ("ALTER ROLE a PASSWORD'hunter2-secret'", "ALTER ROLE a PASSWORD'***'"),
            // What psql's \password sends: the verifier, as secret as the password.
            ("ALTER USER a PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$hunter2-secret'", "ALTER USER a PASSWORD '***'"),
            (
                "CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'u', password 'hunter2-secret')",
                "CREATE USER MAPPING FOR a SERVER s OPTIONS (user 'u', password '***')"
            ),
            (
                "UPDATE accounts SET password = 'hunter2-secret' WHERE id = 1",
                "UPDATE accounts SET password = '***' WHERE id = 1"
            ),
            (
                "ALTER ROLE a PASSWORD 'x'; ALTER ROLE b PASSWORD 'hunter2-secret'",
                "ALTER ROLE a PASSWORD '***'; ALTER ROLE b PASSWORD '***'"
            ),
            // Cut short by track_activity_query_size or left(query, 200): masked to the end.
            ("ALTER ROLE a PASSWORD 'hunter2-sec", "ALTER ROLE a PASSWORD '***'"),
        ]
    )
    func masks(query: String, expected: String) {
        #expect(QueryTextRedaction.masked(query) == expected)
        #expect(!QueryTextRedaction.masked(query).contains("hunter2"))
    }

    @Test(
        "nothing else changes: no PASSWORD keyword, PASSWORD NULL, the word inside literals, names or comments",
        arguments: [
            "SELECT count(*) FROM orders",
            "ALTER ROLE a PASSWORD NULL",
            "SELECT 'set password ''x''' AS hint",
            "SELECT \"password\" FROM t WHERE id = 'password'",
            "SELECT password_hash FROM users WHERE name = 'bob'",
            "SELECT 1 -- password 'kept'\n",
            "SELECT 1 /* password 'kept' */",
            "SELECT $$ password 'kept' $$",
            "SELECT mypassword FROM t WHERE x = $1",
            "",
            "password",
        ]
    )
    func leavesTheRest(query: String) {
        #expect(QueryTextRedaction.masked(query) == query)
    }

    @Test("the models every output reads mask the query however it is set: activity, hazards, live locks")
    func modelsMask() {
        let raw = "ALTER ROLE a PASSWORD 'hunter2'"
        let masked = "ALTER ROLE a PASSWORD '***'"
        var activity = SessionActivity(query: raw)
        #expect(activity.query == masked)
        activity.query = raw
        #expect(activity.query == masked)
        var session = LockHazards.Session(
            pid: 1,
            usename: nil,
            applicationName: nil,
            state: nil,
            transactionSeconds: 0,
            stateSeconds: 0,
            query: raw
        )
        #expect(session.query == masked)
        session.query = raw
        #expect(session.query == masked)
        let live = LiveLock(
            relation: "public.t",
            pid: 1,
            mode: .accessExclusive,
            granted: true,
            state: nil,
            transactionSeconds: nil,
            applicationName: nil,
            query: raw
        )
        #expect(live.query == masked)
    }
}
