from agenthub.cli import main

raise SystemExit(main())
