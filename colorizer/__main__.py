from colorizer.cli import main

raise SystemExit(main())
