from psgbot.cli import main

raise SystemExit(main())
