import sys

if sys.argv[1:2] == ["foresight"] and sys.argv[2:3] in (["detect"], ["forecast"], ["scan"]):
    # The CSV commands need neither the database nor the app: starting them without importing `citoyen.cli`
    # (SQLAlchemy, the settings, the migrations) saves about 2 s of processor time a run.
    from citoyen.foresight.commands import foresight_app

    foresight_app(args=sys.argv[2:], prog_name="citoyen foresight")
else:
    from citoyen.cli import main

    main()
