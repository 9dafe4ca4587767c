import Forecast
import Testing

@Suite("Django's migrate, recognised as an operator types it")
struct DjangoMigrateTests {
    @Test(
        "python manage.py, ./manage.py, python3 -m django and django-admin are Django's migrate",
        arguments: [
            (["python", "manage.py", "migrate"], ["python", "manage.py"], [String](), "manage.py"),
            (
                [".venv/bin/python3.11", "-u", "-W", "ignore", "/srv/app/manage.py", "migrate", "shop", "0003"],
                [".venv/bin/python3.11", "-u", "-W", "ignore", "/srv/app/manage.py"], ["shop", "0003"],
                "/srv/app/manage.py"
            ),
            (["./manage.py", "migrate", "--noinput"], ["./manage.py"], ["--noinput"], "./manage.py"),
            (
                ["python3", "-m", "django", "migrate", "--settings=site.settings"], ["python3", "-m", "django"],
                ["--settings=site.settings"], nil
            ),
            (["/usr/bin/django-admin", "migrate", "shop"], ["/usr/bin/django-admin"], ["shop"], nil),
        ] as [([String], [String], [String], String?)]
    )
    func recognised(command: [String], launcher: [String], arguments: [String], script: String?) throws {
        let migrate = try #require(DjangoMigrate.recognise(command))
        #expect(migrate == DjangoMigrate(launcher: launcher, arguments: arguments, script: script))
    }

    @Test(
        "anything else is not",
        arguments: [
            ["python", "manage.py", "showmigrations"], ["python", "-c", "import django"], ["python", "-m", "alembic"],
            ["alembic", "upgrade", "head"], ["python", "manage.py"], ["sh", "-c", "python manage.py migrate"],
            ["python", "other.py", "migrate"], [],
        ]
    )
    func notRecognised(command: [String]) {
        #expect(DjangoMigrate.recognise(command) == nil)
    }

    @Test("forecast --django takes manage.py's arguments, with or without migrate, or a whole command")
    func forecastArguments() {
        #expect(
            DjangoMigrate.forecastArguments([])
                == DjangoMigrate(launcher: ["python3", "manage.py"], arguments: [], script: "manage.py")
        )
        #expect(DjangoMigrate.forecastArguments(["shop", "0003"]).arguments == ["shop", "0003"])
        #expect(DjangoMigrate.forecastArguments(["migrate", "shop"]).arguments == ["shop"])
        #expect(
            DjangoMigrate.forecastArguments(["venv/bin/python", "app/manage.py", "migrate", "shop"])
                == DjangoMigrate(
                    launcher: ["venv/bin/python", "app/manage.py"],
                    arguments: ["shop"],
                    script: "app/manage.py"
                )
        )
        #expect(DjangoMigrate.forecastArguments(["./manage.py", "shop"]).launcher == ["./manage.py"])
    }

    @Test("the read-only commands keep the project, settings and database, and drop what changes what runs")
    func commands() {
        let migrate = DjangoMigrate(
            launcher: ["python", "manage.py"],
            arguments: [
                "shop", "0003", "--database", "other", "--noinput", "--settings=site.settings", "-v", "2", "--check",
            ],
            script: "manage.py"
        )
        #expect(
            migrate.planCommand == [
                "python", "manage.py", "migrate", "shop", "0003", "--database", "other", "--settings=site.settings",
                "-v",
                "2", "--plan", "--no-color",
            ]
        )
        #expect(
            migrate.showMigrationsCommand == [
                "python", "manage.py", "showmigrations", "--plan", "--no-color", "--database", "other",
                "--settings=site.settings",
            ]
        )
        #expect(
            migrate.sqlMigrateCommand(DjangoMigration(app: "shop", name: "0002_note"), backwards: true) == [
                "python", "manage.py", "sqlmigrate", "shop", "0002_note", "--backwards", "--no-color", "--database",
                "other", "--settings=site.settings",
            ]
        )
        #expect(migrate.fakeOption == nil)
        #expect(DjangoMigrate(launcher: ["./manage.py"], arguments: ["--fake"], script: nil).fakeOption == "--fake")
    }
}
