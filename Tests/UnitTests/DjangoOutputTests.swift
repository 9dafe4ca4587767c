import Forecast
import Testing

@Suite("Django's migrate --plan, showmigrations and sqlmigrate, read")
struct DjangoOutputTests {
    @Test("migrate --plan: the migrations in order, their operations' lines skipped")
    func plan() {
        let output = """
            Planned operations:
            shop.0002_order_note
                Add field note to order
            shop.0004_fill_note
                Raw Python operation -> Every order without a note gets an …

            """
        #expect(
            DjangoOutput.plan(output) == [
                DjangoMigration(app: "shop", name: "0002_order_note"),
                DjangoMigration(app: "shop", name: "0004_fill_note"),
            ]
        )
        #expect(DjangoOutput.plan("Planned operations:\n  No planned migration operations.\n") == [])
        #expect(DjangoOutput.plan("Operations to perform:\n  Apply all migrations: shop\n") == nil)
        #expect(DjangoOutput.plan("Planned operations:\nnot a label\n") == nil)
    }

    @Test("showmigrations --plan: the applied ones")
    func applied() {
        let output = "[X]  shop.0001_initial\n[ ]  shop.0002_order_note\n[X]  auth.0001_initial\n"
        #expect(
            DjangoOutput.applied(output) == [
                DjangoMigration(app: "shop", name: "0001_initial"), DjangoMigration(app: "auth", name: "0001_initial"),
            ]
        )
    }

    @Test("sqlmigrate: BEGIN says atomic; an operation that cannot be SQL is named by its description")
    func migrationSQL() {
        let atomic = """
            BEGIN;
            --
            -- Add field note to order
            --
            ALTER TABLE "shop_order" ADD COLUMN "note" text NULL;
            --
            -- Raw Python operation
            --
            -- THIS OPERATION CANNOT BE WRITTEN AS SQL
            COMMIT;
            """
        #expect(
            DjangoOutput.migrationSQL(atomic)
                == DjangoOutput.MigrationSQL(atomic: true, notSQL: ["Raw Python operation"], sqlBeforeCode: true)
        )
        let notAtomic = """
            --
            -- Create index shop_order_total_idx on field(s) total of model order
            --
            CREATE INDEX "shop_order_total_idx" ON "shop_order" ("total");
            --
            -- Raw Python operation
            --
            -- THIS OPERATION CANNOT BE WRITTEN AS SQL
            """
        #expect(
            DjangoOutput.migrationSQL(notAtomic)
                == DjangoOutput.MigrationSQL(atomic: false, notSQL: ["Raw Python operation"], sqlBeforeCode: false)
        )
        let codeOnly = "BEGIN;\n--\n-- Raw Python operation\n--\n-- THIS OPERATION CANNOT BE WRITTEN AS SQL\nCOMMIT;\n"
        #expect(
            DjangoOutput.migrationSQL(codeOnly)
                == DjangoOutput.MigrationSQL(atomic: true, notSQL: ["Raw Python operation"], sqlBeforeCode: false)
        )
    }
}
