import Testing

@testable import Supervisor

@Suite("django_migrations before and after a run")
struct DjangoMigrationsTests {
    @Test("the query's column: in the order applied; per app the latest")
    func column() {
        let state = DjangoMigrations(
            column: "0000000000000000001 shop.0001_initial\n0000000000000000002 auth.0001_initial\n"
                + "0000000000000000003 shop.0002_order_note"
        )
        #expect(state.recorded == ["shop.0001_initial", "auth.0001_initial", "shop.0002_order_note"])
        #expect(state.latest.map { "\($0.app) \($0.name)" } == ["shop 0002_order_note", "auth 0001_initial"])
        #expect(DjangoMigrations(column: "").recorded.isEmpty)
    }

    @Test("what a run changed: applied, unapplied, unchanged; nothing without the table")
    func summary() {
        let before = DjangoMigrations(recorded: ["shop.0001_initial"])
        let after = DjangoMigrations(recorded: ["shop.0001_initial", "shop.0002_order_note", "shop.0003_index"])
        #expect(
            DjangoMigrations.summary(before: before, after: after)
                == "django_migrations: applied shop.0002_order_note, shop.0003_index (shop: 0001_initial → 0003_index)"
        )
        #expect(
            DjangoMigrations.summary(before: after, after: before)
                == "django_migrations: unapplied shop.0002_order_note, shop.0003_index (shop: 0003_index → 0001_initial)"
        )
        #expect(DjangoMigrations.summary(before: before, after: before) == "django_migrations: unchanged")
        #expect(
            DjangoMigrations.summary(before: nil, after: before)
                == "django_migrations: applied shop.0001_initial (shop: none → 0001_initial)"
        )
        #expect(DjangoMigrations.summary(before: nil, after: nil) == nil)
    }
}
