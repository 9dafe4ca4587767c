/// The families issue 22 found the forecast wrong on, each over realistic data: views over views, partitions and a
/// DEFAULT partition, partitioned foreign keys, inheritance, cascades two levels deep, ALTER COLUMN TYPE referenced by
/// foreign keys, DROP … CASCADE with dependent views, FOR UPDATE OF an alias, MERGE, CTEs, domains, rules, triggers,
/// temporary tables, odd identifiers; and every lock mode on every kind of relation.
extension ForecastCorpus {
    static let familySchema = """
        CREATE VIEW v1 AS SELECT id, customer_id, amount FROM orders;
        CREATE VIEW v2 AS SELECT id, amount FROM v1 WHERE amount > 0;
        CREATE VIEW v3 AS SELECT v2.id, o.created_at FROM v2 JOIN orders AS o ON o.id = v2.id;
        CREATE TABLE people (id int PRIMARY KEY, name text);
        CREATE VIEW customer_view AS SELECT id, name FROM people;
        INSERT INTO people VALUES (1, 'p');
        CREATE TABLE events_default PARTITION OF events DEFAULT;
        CREATE TABLE tenants (id int PRIMARY KEY, name text);
        CREATE TABLE invoices (id int, tenant_id int REFERENCES tenants (id) ON DELETE CASCADE, issued date NOT NULL,
                               total numeric, PRIMARY KEY (id, issued)) PARTITION BY RANGE (issued);
        CREATE TABLE invoices_2026 PARTITION OF invoices FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        CREATE TABLE invoices_2027 PARTITION OF invoices FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
        CREATE TABLE invoice_lines (id int, invoice_id int, issued date,
                                    FOREIGN KEY (invoice_id, issued) REFERENCES invoices (id, issued) ON DELETE CASCADE);
        CREATE TABLE regions (id int PRIMARY KEY, name text);
        CREATE TABLE cities (id int PRIMARY KEY, region_id int REFERENCES regions (id) ON DELETE CASCADE);
        CREATE TABLE streets (id int, city_id int REFERENCES cities (id) ON DELETE CASCADE);
        CREATE TABLE offices (id int, region_id int REFERENCES regions (id) ON DELETE SET NULL);
        CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
        CREATE TABLE stock (id int PRIMARY KEY, qty positive_int);
        CREATE TABLE "Odd Table" ("Weird Col" int, "select" text);
        CREATE TABLE archive."mixed.Case" (id int);
        CREATE TABLE logs (id int, message text);
        CREATE TABLE logs_archive (id int, message text);
        CREATE RULE logs_redirect AS ON INSERT TO logs WHERE NEW.id < 0
            DO INSTEAD INSERT INTO logs_archive VALUES (NEW.id, NEW.message);
        CREATE TABLE measurements (id int, taken date NOT NULL) PARTITION BY RANGE (taken);
        CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        CREATE TRIGGER measurements_touch BEFORE UPDATE ON measurements FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE TABLE gp (id int);
        CREATE TABLE gp_child () INHERITS (gp);
        CREATE TABLE gp_grandchild () INHERITS (gp_child);
        CREATE MATERIALIZED VIEW v2_totals AS SELECT sum(amount) AS total FROM v2;
        INSERT INTO tenants VALUES (1, 'a'), (2, 'b');
        INSERT INTO invoices VALUES (1, 1, '2026-02-01', 10), (2, 2, '2027-02-01', 20);
        INSERT INTO invoice_lines VALUES (1, 1, '2026-02-01'), (2, 2, '2027-02-01');
        INSERT INTO regions VALUES (1, 'north'), (2, 'south');
        INSERT INTO cities VALUES (1, 1), (2, 2);
        INSERT INTO streets VALUES (1, 1), (2, 2);
        INSERT INTO offices VALUES (1, 1);
        INSERT INTO stock VALUES (1, 5), (2, 7);
        INSERT INTO "Odd Table" VALUES (1, 'x');
        INSERT INTO logs VALUES (1, 'hello');
        INSERT INTO measurements VALUES (1, '2026-03-01');
        INSERT INTO gp VALUES (1);
        INSERT INTO gp_child VALUES (2);
        INSERT INTO gp_grandchild VALUES (3);
        INSERT INTO events VALUES (3, '2030-01-01', 'late');
        """

    /// Every lock mode on a table, a partitioned table, an inheritance parent, a view, a view over a view, and an
    /// oddly named table.
    static let lockModes: [String] = {
        let modes = [
            "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE",
            "EXCLUSIVE", "ACCESS EXCLUSIVE",
        ]
        let targets = ["customers", "invoices", "gp", "ONLY gp", "v2", "\"Odd Table\"", "archive.\"mixed.Case\""]
        return targets.flatMap { target in modes.map { "LOCK TABLE \(target) IN \($0) MODE" } }
    }()

    /// Reads of every kind of relation, plain and FOR UPDATE/SHARE.
    static let reads: [String] = {
        let relations = [
            "orders", "v1", "v2", "v3", "customer_view", "events", "ONLY events", "events_default", "invoices",
            "invoices_2026", "gp", "ONLY gp", "gp_child", "parent_t", "order_totals", "v2_totals", "\"Odd Table\"",
            "archive.\"mixed.Case\"", "measurements", "stock",
        ]
        return relations.map { "SELECT * FROM \($0)" }
            + ["orders", "events", "gp", "invoices", "stock", "\"Odd Table\""].flatMap { relation in
                ["UPDATE", "NO KEY UPDATE", "SHARE", "KEY SHARE"].map { "SELECT * FROM \(relation) FOR \($0)" }
            }
    }()

    static let families: [String] =
        lockModes + reads
        + [
            // views over views
            "SELECT * FROM v3 WHERE id = 1",
            "SELECT count(*) FROM v2 JOIN v1 USING (id)",
            "UPDATE v1 SET amount = amount WHERE id = 1",
            "UPDATE v2 SET amount = 1 WHERE id = 2",
            "DELETE FROM v1 WHERE id = 99",
            "INSERT INTO customer_view VALUES (10, 'ten')",
            "UPDATE customer_view SET name = 'z' WHERE id = 1",
            "CREATE VIEW v4 AS SELECT * FROM v3",
            "CREATE OR REPLACE VIEW v1 AS SELECT id, customer_id, amount FROM orders WHERE true",
            "ALTER VIEW v3 RENAME TO v3_renamed",
            "DROP VIEW v3",
            "DROP VIEW v2 CASCADE",
            "DROP VIEW v1 CASCADE",
            "REFRESH MATERIALIZED VIEW v2_totals",
            "CREATE MATERIALIZED VIEW v3_times AS SELECT created_at FROM v3",
            // partitions, the DEFAULT partition, pruning
            "SELECT * FROM events WHERE happened = '2026-05-01'",
            "SELECT * FROM events WHERE happened >= '2026-01-01'",
            "UPDATE events SET kind = 'c' WHERE happened = '2025-05-01'",
            "DELETE FROM events WHERE happened < '2026-01-01'",
            "INSERT INTO events VALUES (9, '2026-07-01', 'x')",
            "INSERT INTO events VALUES (9, '2031-07-01', 'x')",
            "INSERT INTO events SELECT id + 100, happened, kind FROM events",
            "UPDATE events SET happened = '2031-01-01' WHERE id = 1",
            "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
            "CREATE TABLE events_2029 PARTITION OF events FOR VALUES FROM ('2029-01-01') TO ('2030-01-01')",
            "ALTER TABLE events DETACH PARTITION events_default",
            "ALTER TABLE events DETACH PARTITION events_2026",
            "DROP TABLE events_2025",
            "DROP TABLE events_default",
            "TRUNCATE events_2026",
            "TRUNCATE ONLY events_2026",
            "ALTER TABLE events ALTER COLUMN kind TYPE varchar(20)",
            "ALTER TABLE events ALTER COLUMN id TYPE bigint",
            "ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind <> '')",
            "ALTER TABLE events ALTER COLUMN kind SET NOT NULL",
            "ALTER TABLE events DROP COLUMN kind",
            "ALTER TABLE events RENAME COLUMN kind TO category",
            "CREATE INDEX ON events (happened)",
            "CREATE INDEX ON ONLY events (happened)",
            "ALTER TABLE events_2026 ALTER COLUMN kind SET DEFAULT 'x'",
            "ALTER TABLE events_default ALTER COLUMN kind SET STATISTICS 300",
            "ANALYZE events",
            // partitioned foreign keys
            "DELETE FROM tenants WHERE id = 1",
            "DELETE FROM tenants WHERE id = 42",
            "UPDATE tenants SET name = 'c' WHERE id = 2",
            "INSERT INTO invoices VALUES (3, 1, '2026-06-01', 5)",
            "INSERT INTO invoice_lines VALUES (3, 1, '2026-02-01')",
            "UPDATE invoices SET tenant_id = 2 WHERE id = 1",
            "DELETE FROM invoices WHERE id = 1",
            "ALTER TABLE invoices DROP CONSTRAINT invoices_tenant_id_fkey",
            "ALTER TABLE invoices ADD CONSTRAINT invoices_total_check CHECK (total >= 0)",
            "ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_invoice_id_issued_fkey",
            "ALTER TABLE tenants ALTER COLUMN id TYPE bigint",
            "ALTER TABLE invoices ALTER COLUMN tenant_id TYPE bigint",
            "CREATE TABLE invoices_2028 PARTITION OF invoices FOR VALUES FROM ('2028-01-01') TO ('2029-01-01')",
            "ALTER TABLE measurements DETACH PARTITION measurements_2026",
            "DROP TABLE invoice_lines",
            "TRUNCATE tenants CASCADE",
            // inheritance
            "CREATE INDEX ON parent_t (id)",
            "CREATE INDEX ON gp (id)",
            "ALTER TABLE gp ADD COLUMN note text",
            "ALTER TABLE gp ADD CONSTRAINT gp_positive CHECK (id > 0) NOT VALID",
            "ALTER TABLE gp ADD CONSTRAINT gp_positive CHECK (id > 0)",
            "ALTER TABLE gp ALTER COLUMN id TYPE bigint",
            "ALTER TABLE gp RENAME COLUMN id TO gp_id",
            "ALTER TABLE gp_grandchild NO INHERIT gp_child",
            "UPDATE gp SET id = id",
            "UPDATE ONLY gp SET id = id",
            "DELETE FROM gp WHERE id = 3",
            "INSERT INTO gp VALUES (4)",
            "TRUNCATE gp",
            "TRUNCATE ONLY gp",
            "DROP TABLE gp CASCADE",
            "DROP TABLE gp_grandchild",
            "ANALYZE gp",
            // foreign key cascades, two levels deep, and SET NULL
            "DELETE FROM regions WHERE id = 1",
            "DELETE FROM regions WHERE id = 99",
            "DELETE FROM cities WHERE id = 2",
            "UPDATE regions SET name = 'east' WHERE id = 2",
            "UPDATE cities SET region_id = 2 WHERE id = 1",
            "INSERT INTO streets VALUES (3, 1)",
            "INSERT INTO offices VALUES (2, NULL)",
            "TRUNCATE regions CASCADE",
            "DROP TABLE regions CASCADE",
            "DROP TABLE cities CASCADE",
            "ALTER TABLE regions DROP CONSTRAINT regions_pkey CASCADE",
            // ALTER COLUMN TYPE of a column foreign keys reference
            "ALTER TABLE customers ALTER COLUMN id TYPE bigint",
            "ALTER TABLE regions ALTER COLUMN id TYPE bigint",
            "ALTER TABLE cities ALTER COLUMN id TYPE bigint",
            "ALTER TABLE kids ALTER COLUMN customer_id TYPE bigint",
            "ALTER TABLE customers ALTER COLUMN name TYPE varchar(200)",
            "ALTER TABLE customers ADD COLUMN vip boolean DEFAULT false",
            "ALTER TABLE customers RENAME COLUMN id TO customer_id",
            "ALTER TABLE customers DROP COLUMN id CASCADE",
            // DROP … CASCADE with dependent views
            "DROP TABLE orders CASCADE",
            "DROP TABLE customers CASCADE",
            "ALTER TABLE orders DROP COLUMN amount CASCADE",
            "DROP MATERIALIZED VIEW order_totals",
            "DROP DOMAIN positive_int CASCADE",
            "DROP FUNCTION touch() CASCADE",
            // FOR UPDATE OF an alias, joins, subqueries
            "SELECT * FROM orders AS o JOIN customers AS c ON c.id = o.customer_id FOR UPDATE OF o",
            "SELECT * FROM orders AS o JOIN customers AS c ON c.id = o.customer_id FOR UPDATE OF c",
            "SELECT * FROM orders AS o JOIN customers AS c ON c.id = o.customer_id FOR SHARE OF o, c",
            "SELECT * FROM orders AS o JOIN customers AS c ON c.id = o.customer_id FOR UPDATE OF o FOR SHARE OF c",
            "SELECT * FROM orders AS o WHERE o.customer_id IN (SELECT id FROM customers) FOR UPDATE OF o",
            "SELECT * FROM (SELECT * FROM orders) AS sub",
            "SELECT * FROM orders WHERE EXISTS (SELECT 1 FROM kids WHERE kids.customer_id = orders.customer_id)",
            "SELECT * FROM events AS e JOIN orders AS o ON o.id = e.id FOR UPDATE OF e",
            // MERGE
            "MERGE INTO stock AS s USING (VALUES (1, 3)) AS v (id, qty) ON s.id = v.id WHEN MATCHED THEN UPDATE SET qty = v.qty",
            "MERGE INTO stock AS s USING (VALUES (9, 3)) AS v (id, qty) ON s.id = v.id WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.qty)",
            "MERGE INTO orders AS o USING customers AS c ON o.customer_id = c.id WHEN MATCHED THEN UPDATE SET note = 'm'",
            "MERGE INTO kids AS k USING customers AS c ON k.customer_id = c.id WHEN MATCHED THEN DELETE",
            "MERGE INTO events AS e USING loner AS l ON e.id = l.id WHEN MATCHED THEN UPDATE SET kind = 'merged'",
            // CTEs and names that look like tables
            "WITH orders AS (SELECT 1 AS id) SELECT * FROM orders",
            "WITH audit AS (SELECT * FROM customers) SELECT * FROM audit",
            "WITH x AS (UPDATE orders SET note = 'c' WHERE id = 1 RETURNING customer_id) SELECT * FROM x JOIN customers ON customers.id = x.customer_id",
            "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r, loner",
            "WITH gone AS (DELETE FROM logs RETURNING *) INSERT INTO logs_archive SELECT * FROM gone",
            "WITH v AS MATERIALIZED (SELECT * FROM v2) SELECT * FROM v",
            // domains
            "INSERT INTO stock VALUES (3, 4)",
            "UPDATE stock SET qty = 9 WHERE id = 1",
            "ALTER DOMAIN positive_int ADD CONSTRAINT small CHECK (VALUE < 1000)",
            "ALTER DOMAIN positive_int ADD CONSTRAINT small CHECK (VALUE < 1000) NOT VALID",
            "ALTER DOMAIN positive_int SET NOT NULL",
            "ALTER DOMAIN positive_int DROP CONSTRAINT positive_int_check",
            "ALTER TABLE stock ALTER COLUMN qty TYPE int",
            "ALTER TABLE stock ALTER COLUMN qty TYPE bigint",
            "ALTER TABLE stock ADD COLUMN reserve positive_int",
            // rules
            "INSERT INTO logs VALUES (2, 'kept')",
            "INSERT INTO logs VALUES (-1, 'redirected')",
            "INSERT INTO loner VALUES (5)",
            "CREATE RULE logs_no_delete AS ON DELETE TO logs DO INSTEAD NOTHING",
            "DROP RULE logs_redirect ON logs",
            "ALTER RULE logs_redirect ON logs RENAME TO logs_redirect2",
            "DELETE FROM logs",
            // triggers, also on partitioned tables
            "UPDATE measurements SET taken = taken",
            "UPDATE measurements_2026 SET id = 2",
            "CREATE TRIGGER measurements_touch2 BEFORE INSERT ON measurements FOR EACH ROW EXECUTE FUNCTION touch()",
            "DROP TRIGGER measurements_touch ON measurements",
            "ALTER TABLE measurements DISABLE TRIGGER measurements_touch",
            "ALTER TRIGGER measurements_touch ON measurements RENAME TO measurements_touched",
            "CREATE TRIGGER orders_after AFTER INSERT ON orders FOR EACH STATEMENT EXECUTE FUNCTION touch()",
            "CREATE CONSTRAINT TRIGGER stock_check AFTER INSERT ON stock FROM customers FOR EACH ROW EXECUTE FUNCTION touch()",
            "CREATE TABLE measurements_2027 PARTITION OF measurements FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
            // temporary tables, and a schema on the search path
            "CREATE TEMP TABLE scratch (id int)",
            "CREATE TEMP TABLE orders (id int)",
            "CREATE TEMP TABLE tmp_orders AS SELECT * FROM orders",
            "SELECT * FROM archive.\"mixed.Case\"",
            "ALTER TABLE archive.\"mixed.Case\" ADD COLUMN n int",
            // odd identifiers
            "SELECT \"Weird Col\", \"select\" FROM \"Odd Table\"",
            "UPDATE \"Odd Table\" SET \"select\" = 'y'",
            "ALTER TABLE \"Odd Table\" ADD COLUMN \"ÄÖÜ\" int",
            "ALTER TABLE \"Odd Table\" RENAME TO \"Odder Table\"",
            "CREATE INDEX \"odd index\" ON \"Odd Table\" (\"Weird Col\")",
            "DROP TABLE \"Odd Table\"",
            "ALTER TABLE archive.\"mixed.Case\" RENAME COLUMN id TO \"ID\"",
            "TRUNCATE archive.\"mixed.Case\"",
            // more statements of everyday migrations
            "ALTER TABLE orders ADD COLUMN tenant_id int REFERENCES tenants (id)",
            "ALTER TABLE kids VALIDATE CONSTRAINT kids_customer_id_fkey",
            "ALTER TABLE orders ADD CONSTRAINT orders_note_length CHECK (length(note) < 30) NOT VALID",
            "CREATE UNIQUE INDEX orders_note_unique ON orders (note) WHERE note IS NOT NULL",
            "CREATE INDEX orders_expr ON orders (lower(status))",
            "ALTER TABLE orders SET LOGGED",
            "ALTER TABLE kids ADD PRIMARY KEY (id)",
            "UPDATE orders SET status = 'paid' WHERE customer_id IN (SELECT id FROM customers WHERE name = 'a')",
            "DELETE FROM orders WHERE id NOT IN (SELECT id FROM big_orders)",
            "INSERT INTO orders SELECT id + 10, customer_id, amount FROM orders",
            "INSERT INTO kids SELECT id + 10, id FROM customers",
            "SELECT setval('counter', 5)",
            "SELECT nextval('counter')",
            "GRANT SELECT ON orders TO PUBLIC",
            "REVOKE SELECT ON orders FROM PUBLIC",
            "SECURITY LABEL FOR dummy ON TABLE orders IS 'x'",
        ].filter { !$0.hasPrefix("SECURITY LABEL") }
}
